import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createPreviewStore } from '../../../src/adapters/db/preview-store.js';
import { AppService } from '../../../src/services/apps.js';
import { appServiceOver, buildCore } from '../../helpers/core.js';

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

  const list = service.list();

  assert.deepEqual(perApp, []);
  assert.deepEqual(list.map((app) => [app.name, app.release?.version ?? null, app.state]), [['blog', null, null], ['shop', 1, 'running']]);
});

it('gives the same list while nothing it shows changed, and builds it again after any change of what it shows', async () => {
  const core = buildCore();
  const shop = core.apps.create('shop');
  await core.push('shop');
  const service = appServiceOver(core);
  let last = service.list();
  /** Whether list() gives a new array since the last call. */
  const rebuilt = (): boolean => {
    const list = service.list();
    const result = list !== last;
    last = list;
    return result;
  };

  assert.ok(!rebuilt(), 'nothing changed');
  core.events.record({ appId: shop.id, app: 'shop', kind: 'deploy.started', message: 'not shown in the list' });
  assert.ok(!rebuilt(), 'an event is not shown');

  const [web] = core.live.list({ app: 'shop' });
  core.runtime.set(web!.id, { restartCount: 1 });
  assert.ok(rebuilt(), 'a process changed');
  core.live.setHealth(web!.id, 'unhealthy');
  assert.ok(rebuilt(), 'a health verdict');
  core.formation.set(shop.id, { web: 1 });
  assert.ok(rebuilt(), 'a scale written');
  core.domains.add(shop.id, 'www.shop.example');
  assert.ok(rebuilt(), 'a domain written');
  core.releases.create({ appId: shop.id, kind: 'config', gitSha: null, config: {} });
  assert.ok(rebuilt(), 'a release written');
  core.apps.setWatchSeconds(shop.id, 0);
  assert.ok(rebuilt(), 'an app written');
  await core.deployer.withAppLock('shop', async () => {
    assert.ok(rebuilt(), 'a deploy started');
    assert.equal(last[0]?.deploying, true);
  });
  assert.ok(rebuilt(), 'a deploy ended');
  assert.equal(last[0]?.deploying, false);
  assert.ok(!rebuilt(), 'nothing changed since');
});

it("shows the live release's state from another of its web processes when the recorded one is gone (a rescheduled task)", async () => {
  const core = buildCore();
  const shop = core.apps.create('shop');
  core.formation.set(shop.id, { web: 2 });
  await core.push('shop');
  const service = appServiceOver(core);
  const recorded = core.releases.live(shop.id)?.containerId;
  assert.ok(recorded);
  await core.runtime.remove([recorded]);
  await core.live.refresh('shop');
  assert.equal(core.live.get(recorded), undefined);
  assert.equal(service.status(shop).state, 'running');
  await core.runtime.remove((await core.runtime.list({ app: 'shop' })).map((process) => process.id));
  await core.live.refresh('shop');
  assert.equal(service.status(shop).state, 'missing');
});

it('destroys, with its app, a preview a push created while the app was being destroyed', async () => {
  const core = buildCore();
  const shop = core.apps.create('shop');
  await core.push('shop');
  const previews = createPreviewStore(core.db);
  // The push lands after destroy() listed the previews (none), before the app's row goes.
  const service = appServiceOver(core, {
    onDestroy: (app) => {
      if (app.name !== 'shop') return;
      const late = core.apps.create('shop--late');
      previews.add({ appId: late.id, parentId: shop.id, branch: 'late' });
    },
  });

  await service.destroy(shop, { volumes: false });

  assert.equal(core.apps.findByName('shop'), undefined);
  assert.equal(core.apps.findByName('shop--late'), undefined, 'the late preview is destroyed too, not left without its app');
});
