import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createPreviewStore } from '../../../../src/adapters/db/preview-store.js';
import { AppService } from '../../../../src/services/apps.js';
import { ProcessControl } from '../../../../src/services/processes.js';
import { appPage, visibleApps } from '../../../../src/http/dashboard/pages.js';
import { StorageService } from '../../../../src/services/storage.js';
import type { ConfigStore, VolumeStore } from '../../../../src/domain/ports.js';
import type { App } from '../../../../src/domain/types.js';
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
    listedWrites: core.listedWrites,
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

it("names, in the app page's storage section on a swarm, the node each volume lives on and what that means", async () => {
  const volume = { path: '/data', name: 'pt-a-data', createdAt: '2026-12-01T00:00:00Z' };
  const storage = (node: string | undefined) => new StorageService({
    volumes: { list: () => [volume] } as unknown as VolumeStore,
    configVars: {} as ConfigStore,
    runtime: { ensureVolume: async () => undefined, listVolumes: async () => [], removeVolume: async () => undefined, volumeNode: async () => node },
    deployer: { changeApp: async () => null },
    instance: 'pt',
  });
  const app = { id: 1, name: 'a' } as App;
  const page = (node: string | undefined) => appPage({
    apps: { status: () => ({ name: 'a', release: null, deploying: false, domains: [] }) },
    processes: { list: () => [] },
    releases: { list: () => [] },
    configVars: { get: () => ({}), buildKeys: () => [] },
    certificates: { list: async () => [] },
    domains: { listForApp: () => [] },
    storage: storage(node),
    limits: { show: () => undefined },
    tokens: { list: () => [] },
  } as unknown as ApiDeps, app, { tokenId: 1, name: 'admin', scope: 'admin', appId: null }, { reveal: false });

  const [onSwarm] = (await page('node-2')).storage;
  assert.equal(onSwarm?.node, 'node-2');
  assert.match(onSwarm?.placement ?? '', /^The volume lives on node node-2: the app's processes run on that node only, and are replaced stop-first/);
  const [onOneHost] = (await page(undefined)).storage;
  assert.equal(onOneHost?.placement, undefined);
});
