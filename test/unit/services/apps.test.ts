import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createPreviewStore } from '../../../src/adapters/db/preview-store.js';
import { AppService } from '../../../src/services/apps.js';
import { buildCore } from '../../helpers/core.js';

it('lists every app with its live release and state from the listing, reading nothing per app', async () => {
  const core = buildCore();
  core.apps.create('shop');
  core.apps.create('blog');
  await core.push('shop');
  const perApp: string[] = [];
  const service = new AppService({
    apps: core.apps,
    // Reads of one app's release or domains would be per-app queries: the list must not need them.
    releases: { ...core.releases, live: (id) => void perApp.push(`releases.live(${id})`) },
    domains: { ...core.domains, listForApp: (id) => (perApp.push(`domains.listForApp(${id})`), []) },
    formation: core.formation,
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

  const list = service.list();

  assert.deepEqual(perApp, []);
  assert.deepEqual(list.map((app) => [app.name, app.release?.version ?? null, app.state]), [['blog', null, null], ['shop', 1, 'running']]);
});
