import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createPreviewStore } from '../../../../src/adapters/db/preview-store.js';
import { AppService } from '../../../../src/services/apps.js';
import { ProcessControl } from '../../../../src/services/processes.js';
import { visibleApps } from '../../../../src/http/dashboard/pages.js';
import type { ApiDeps } from '../../../../src/http/api/context.js';
import { buildCore } from '../../../helpers/core.js';

it('shows every app with its state and processes from the listings, reading nothing per app', async () => {
  const core = buildCore();
  core.apps.create('shop');
  const blog = core.apps.create('blog');
  core.apps.create('docs');
  await core.push('shop');
  core.releases.transition(core.releases.create({ appId: blog.id, kind: 'deploy', gitSha: null, config: {} }).id, 'failed');
  const perApp: string[] = [];
  // Reads of one app (its record, releases, scale, domains, processes) would be per-app queries: the page must not need them.
  const apps = { ...core.apps, findByName: (name: string) => (perApp.push(`apps.findByName(${name})`), core.apps.findByName(name)) };
  const releases = {
    ...core.releases,
    live: (id: number) => (perApp.push(`releases.live(${id})`), core.releases.live(id)),
    list: (id: number) => (perApp.push(`releases.list(${id})`), core.releases.list(id)),
  };
  const formation = { ...core.formation, get: (id: number) => (perApp.push(`formation.get(${id})`), core.formation.get(id)) };
  const domains = { ...core.domains, listForApp: (id: number) => (perApp.push(`domains.listForApp(${id})`), core.domains.listForApp(id)) };
  const processes = new ProcessControl({ ...core, apps, releases, formation, settings: core.settings });
  const service = new AppService({
    apps,
    releases,
    domains,
    formation,
    runtime: core.runtime,
    live: core.live,
    images: core.images,
    repositories: { exists: () => true, create: async () => undefined, remove: () => undefined, rename: () => undefined },
    volumes: core.volumes,
    previews: createPreviewStore(core.db),
    deployer: core.deployer,
    routes: core.routes,
    instance: 'pt',
    maxNameLength: 30,
    appUrl: (app) => `https://${app}.pilot.test`,
    onDestroy: () => undefined,
  });
  // The apps page reads only these three of the API's services.
  const deps = { apps: service, processes, releases } as unknown as ApiDeps;

  const rows = visibleApps(deps, { tokenId: 1, name: 'admin', scope: 'admin', appId: null });
  const own = visibleApps(deps, { tokenId: 2, name: 'blog-ci', scope: 'app', appId: blog.id });

  assert.deepEqual(perApp, []);
  assert.deepEqual(
    rows.map((row) => [row.name, row.summary, row.types.map((type) => `${type.type} ${type.running}/${type.total}`)]),
    [['blog', 'failed', []], ['docs', 'new', []], ['shop', 'running', ['web 1/1']]],
  );
  assert.deepEqual(own.map((row) => row.name), ['blog']);
});
