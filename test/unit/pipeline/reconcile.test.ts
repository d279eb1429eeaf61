import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { failInterruptedReleases, removeOrphanContainers } from '../../../src/pipeline/reconcile.js';
import type { App, Release, Slot } from '../../../src/domain/types.js';
import { buildCore, type Core } from '../../helpers/core.js';
import type { FakeRollingRuntime } from '../../helpers/fake-runtime.js';

/**
 * Pilot crashed at a stage of a rollout, leaving the database and the runtime as that stage
 * does; at the next start, reconcile must leave exactly what serves and retire what served.
 */
function spec(app: string, version: number) {
  return { instance: 'pt', app, version, image: `pt/${app}:v${version}`, config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 512 };
}

function leave(core: Core, app: App, version: number, slot: Slot, type = 'web', index = 1): string {
  return core.runtime.leave(spec(app.name, version), { app: app.name, release: version, slot, type, index });
}

/** The start of Pilot after the crash: fail what was in progress, load the routes, clean up. */
async function restartPilot(core: Core): Promise<{ failed: string[]; removed: string[] }> {
  const deps = { apps: core.apps, releases: core.releases, formation: core.formation, runtime: core.runtime, logger: core.logger };
  const failed = failInterruptedReleases(deps);
  await core.routes.reload();
  const removed = await removeOrphanContainers(deps, (batch) => core.deployer.retire(batch.app, batch.version, batch.slot, batch.processes));
  await core.rollout.settle();
  return { failed, removed };
}

/** v1 live in blue, and v2 created as the crashed deploy had it. */
async function crashedDeploy(core: Core, status: 'building' | 'starting' | 'checking' | 'switched'): Promise<{ app: App; v1: Release; v2: Release }> {
  const app = core.apps.create('shop');
  const v1 = await core.liveRelease(app);
  const v2 = core.releases.create({ appId: app.id, kind: 'deploy', gitSha: 'c'.repeat(40), config: {} });
  core.releases.update(v2.id, { image: 'pt/shop:v2', port: 5000, processes: { web: null } });
  if (status !== 'building') {
    core.releases.transition(v2.id, 'starting', { slot: 'green' });
    leave(core, app, 2, 'green');
  }
  if (status === 'checking' || status === 'switched') core.releases.transition(v2.id, 'checking');
  if (status === 'switched') core.releases.promote(v2.id);
  return { app, v1, v2 };
}

describe('reconcile at start after a crash of Pilot at each stage of a rollout', () => {
  for (const stage of ['building', 'starting', 'checking'] as const) {
    it(`while ${stage}: the release is failed, its processes go, v1 serves on untouched`, async () => {
      const core = buildCore();
      const { app, v2 } = await crashedDeploy(core, stage);
      const { failed } = await restartPilot(core);
      assert.deepEqual(failed, ['shop v2']);
      assert.equal(core.releases.get(v2.id)?.status, 'failed');
      assert.match(core.releases.get(v2.id)?.failureReason ?? '', new RegExp(`Pilot stopped while this release was ${stage}; it never served`));
      assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
      assert.equal(core.releases.live(app.id)?.version, 1);
      assert.deepEqual(await core.router.upstreams(), (await core.runtime.list({ app: 'shop' })).map((process) => `${process.address}:5000`));
    });
  }

  it('after the switch, before the retirement: the new release serves, the old one drains and retires', async () => {
    const core = buildCore();
    const { app } = await crashedDeploy(core, 'switched');
    const { failed, removed } = await restartPilot(core);
    assert.deepEqual(failed, []);
    assert.deepEqual(removed, []);
    assert.deepEqual(core.runtime.running(), ['v2 web.1 green']);
    assert.ok(core.runtime.events.includes('retire v1 web.1 blue'), 'retired (after its drain), not removed');
    assert.equal(core.releases.live(app.id)?.version, 2);
  });

  it('during a restart: before its switch the new slot goes; after it the old slot retires', async () => {
    for (const switched of [false, true]) {
      const core = buildCore();
      const app = core.apps.create('shop');
      const live = await core.liveRelease(app);
      leave(core, app, live.version, 'green');
      if (switched) core.releases.update(live.id, { slot: 'green' });
      await restartPilot(core);
      assert.deepEqual(core.runtime.running(), [`v1 web.1 ${switched ? 'green' : 'blue'}`], switched ? 'after the switch' : 'before the switch');
    }
  });

  it('during a scale change: a process past the kept scale drains and retires', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    leave(core, app, 1, 'blue', 'web', 2);
    await restartPilot(core);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.ok(core.runtime.events.includes('retire v1 web.2 blue'));
  });

  it('removes one-off containers and the processes of destroyed apps, and says which', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    core.runtime.oneOffs.push({ id: 'o1', name: 'pt-shop-run-ab12', identity: { app: 'shop', release: 1, kind: 'run' }, running: true });
    leave(core, { ...app, id: 999, name: 'gone' }, 3, 'blue');
    const { removed } = await restartPilot(core);
    assert.deepEqual(removed.sort(), ['pt-gone-blue', 'pt-shop-run-ab12']);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
  });
});

/** The core in swarm mode: its runtime replaces processes itself and says what it is asked to run. */
function rollingCore(): Core & { runtime: FakeRollingRuntime } {
  return buildCore({}, { rolling: true }) as Core & { runtime: FakeRollingRuntime };
}

/** The start of Pilot in swarm mode: as restartPilot, each app that the scheduler runs otherwise put back on its live release. */
async function restartRollingPilot(core: Core): Promise<{ failed: string[]; removed: string[]; restored: string[] }> {
  const deps = { apps: core.apps, releases: core.releases, formation: core.formation, runtime: core.runtime, logger: core.logger };
  const failed = failInterruptedReleases(deps);
  await core.routes.reload();
  const restored: string[] = [];
  const restoring: Promise<void>[] = [];
  const removed = await removeOrphanContainers(deps, (batch) => core.deployer.retire(batch.app, batch.version, batch.slot, batch.processes), (app, reason, replacing) => {
    restored.push(`${app.name}: ${reason}`);
    restoring.push(core.deployer.restoreLive(app, reason, replacing));
  });
  await Promise.all(restoring);
  await core.rollout.settle();
  return { failed, removed, restored };
}

describe('reconcile at start in swarm mode: the scheduler is put back on the live releases', () => {
  it('a rolling update cut short by a stop of Pilot: the release is failed, its services go back to v1, v1 serves', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 2 });
    await core.push('shop');
    const scheduled = await core.runtime.scheduled();
    // v2's deploy had handed its formation to the scheduler, which carried on alone once Pilot was killed.
    const v2 = core.releases.create({ appId: app.id, kind: 'deploy', gitSha: 'c'.repeat(40), config: {} });
    core.releases.update(v2.id, { image: 'pt/shop:v2', port: 5000, processes: { web: null } });
    core.releases.transition(v2.id, 'starting', { slot: 'green' });
    core.releases.transition(v2.id, 'checking');
    await core.runtime.schedule(spec('shop', 2), { web: 2 }, 'green', { types: ['web'], renew: true });

    const { failed, restored } = await restartRollingPilot(core);

    assert.deepEqual(failed, ['shop v2']);
    assert.equal(core.releases.get(v2.id)?.status, 'failed');
    assert.match(core.releases.get(v2.id)?.failureReason ?? '', /Pilot stopped while this release was checking/);
    assert.deepEqual(restored, ['shop: web is scheduled as v2, but v1 is the live release']);
    assert.deepEqual(await core.runtime.scheduled(), scheduled);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue']);
    assert.equal(core.releases.live(app.id)?.version, 1);
    assert.deepEqual((await core.router.upstreams()).sort(), (await core.runtime.list({ app: 'shop' })).map((process) => `${process.address}:5000`).sort());
    const [restoredEvent] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.equal(restoredEvent?.kind, 'release.restored');
    assert.equal(restoredEvent?.release, 1);
    assert.match(restoredEvent?.message ?? '', /v1 runs again as recorded \(web is scheduled as v2, but v1 is the live release\)/);
  });

  it('a restore the scheduler refuses is told in the timeline, with what to do', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    await core.runtime.schedule(spec('shop', 1), { web: 3 }, 'blue', { types: ['web'], renew: false });
    core.runtime.rollback = 'the swarm rolled the update back';
    const { restored } = await restartRollingPilot(core);
    assert.equal(restored.length, 1);
    const [event] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.equal(event?.kind, 'release.restore-failed');
    assert.match(event?.message ?? '', /v1 could not be put back on the scheduler \(web is scheduled as v1 × 3, but its formation is 1\): .*the swarm rolled the update back.*; deploy the app again/);
  });

  it('a scale cut short (its formation not written): the replicas go back to the kept formation', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    const live = core.releases.live(app.id);
    assert.ok(live);
    await core.runtime.schedule(spec('shop', live.version), { web: 3 }, 'blue', { types: ['web'], renew: false });
    const { failed, restored } = await restartRollingPilot(core);
    assert.deepEqual(failed, []);
    assert.deepEqual(restored, ['shop: web is scheduled as v1 × 3, but its formation is 1']);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
  });

  it('a first deploy cut short, and a destroyed app: their services are retired; an app as recorded is left alone', async () => {
    const core = rollingCore();
    const kept = core.apps.create('kept');
    await core.push('kept');
    const fresh = core.apps.create('fresh');
    const v1 = core.releases.create({ appId: fresh.id, kind: 'deploy', gitSha: 'c'.repeat(40), config: {} });
    core.releases.transition(v1.id, 'starting', { slot: 'blue' });
    await core.runtime.schedule(spec('fresh', 1), { web: 1 }, 'blue', { types: ['web'], renew: true });
    await core.runtime.schedule(spec('gone', 4), { web: 2 }, 'blue', { types: ['web'], renew: true });
    const before = core.runtime.replaced.length;

    const { failed, removed, restored } = await restartRollingPilot(core);

    assert.deepEqual(failed, ['fresh v1']);
    assert.deepEqual(restored, []);
    assert.equal(core.runtime.replaced.length, before, 'nothing replaced');
    assert.deepEqual(removed.sort(), ['pt-fresh-blue', 'pt-gone-blue', 'pt-gone-blue-web.2']);
    assert.deepEqual((await core.runtime.scheduled()).map((formation) => formation.app), ['kept']);
    assert.deepEqual((await core.runtime.list()).map((process) => process.identity.app), ['kept']);
    assert.equal(core.releases.live(kept.id)?.version, 1);
  });
});

/** A live release made by a single-host Pilot: its processes plain containers, no service on the swarm. */
async function ranOnOneHost(core: Core & { runtime: FakeRollingRuntime }, name: string, web = 1): Promise<App> {
  const app = core.apps.create(name);
  core.formation.set(app.id, { web });
  await core.liveRelease(app);
  core.runtime.ranOnOneHost(name);
  return app;
}

describe('reconcile at the first start in swarm mode: apps that ran on one host move onto the swarm', () => {
  it('an app with a live release and no service is put on the swarm; its containers go once its services serve', async () => {
    const core = rollingCore();
    const app = await ranOnOneHost(core, 'shop', 2);
    const stillThere: string[][] = [];
    core.runtime.duringReplace = () => stillThere.push(core.runtime.singleHost.map((process) => process.name));

    const { failed, removed, restored } = await restartRollingPilot(core);

    assert.deepEqual(failed, []);
    assert.deepEqual(removed, [], 'nothing removed before the restore');
    assert.deepEqual(restored, ['shop: v1 has no service on the swarm: it ran on one host before swarm mode']);
    assert.deepEqual(stillThere, [['pt-shop-blue', 'pt-shop-blue-web.2']], 'the containers served while the services were made');
    assert.deepEqual(core.runtime.singleHost, []);
    const removals = core.runtime.events.filter((event) => /^(replace|stop single-host|remove single-host|ensure volume) /.test(event));
    assert.deepEqual(removals, ['replace shop v1', 'remove single-host pt-shop-blue', 'remove single-host pt-shop-blue-web.2'], 'no volume: removed only once the services serve, never stopped first');
    assert.deepEqual(await core.runtime.scheduled(), [{ app: 'shop', type: 'web', release: 1, slot: 'blue', replicas: 2 }]);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue']);
    assert.equal(core.releases.live(app.id)?.version, 1, 'the same release, no new one');
    // Caddy routes to the tasks as soon as the restore switched, not at some later event.
    assert.deepEqual((await core.router.upstreams()).sort(), (await core.runtime.list({ app: 'shop' })).map((process) => `${process.address}:5000`).sort());
    const [event] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.equal(event?.kind, 'release.restored');
    assert.equal(event?.release, 1);
    assert.match(event?.message ?? '', /^v1 moved onto the swarm \(v1 has no service on the swarm: it ran on one host before swarm mode\); its containers from one host were removed \(pt-shop-blue, pt-shop-blue-web\.2\)$/);
  });

  it('a move the swarm refuses leaves the containers from one host and tells the timeline what to do', async () => {
    const core = rollingCore();
    const app = await ranOnOneHost(core, 'shop');
    core.runtime.rollback = 'web did not become healthy on the swarm';

    const { removed, restored } = await restartRollingPilot(core);

    assert.equal(restored.length, 1);
    assert.deepEqual(removed, []);
    assert.deepEqual(core.runtime.singleHost.map((process) => process.name), ['pt-shop-blue']);
    assert.ok(!core.runtime.events.some((event) => event.startsWith('remove single-host')));
    const [event] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.equal(event?.kind, 'release.restore-failed');
    assert.match(event?.message ?? '', /^v1 could not be moved onto the swarm \(v1 has no service on the swarm: .*\): .*web did not become healthy on the swarm.*; its containers from one host are left running; deploy the app again$/);
  });

  it('an app with a volume: the volume is placed on the manager and its containers from one host stop before its services are made', async () => {
    const core = rollingCore();
    const app = await ranOnOneHost(core, 'shop', 2);
    core.volumes.add(app.id, { path: '/data', name: 'pt-shop-data' });

    const { restored } = await restartRollingPilot(core);

    assert.equal(restored.length, 1);
    const order = core.runtime.events.filter((event) => /^(replace|stop single-host|remove single-host|ensure volume) /.test(event));
    assert.deepEqual(order, [
      'ensure volume pt-shop-data',
      'stop single-host pt-shop-blue', 'stop single-host pt-shop-blue-web.2',
      'remove single-host pt-shop-blue', 'remove single-host pt-shop-blue-web.2',
      'replace shop v1',
    ]);
    assert.deepEqual(core.runtime.placedVolumes, ['pt-shop-data']);
    assert.deepEqual(core.runtime.replaced[0]?.runtime.volumes.map((volume) => volume.name), ['pt-shop-data'], 'its services mount the volume');
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue']);
    const [event] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.equal(event?.kind, 'release.restored');
    assert.match(event?.message ?? '', /^v1 moved onto the swarm \(.*\); its containers from one host were stopped first \(pt-shop-blue, pt-shop-blue-web\.2\), its data is on its volumes \(pt-shop-data\)$/);
  });

  it('a failed move of an app with a volume says its containers were stopped and its data is on the volume', async () => {
    const core = rollingCore();
    const app = await ranOnOneHost(core, 'shop');
    core.volumes.add(app.id, { path: '/data', name: 'pt-shop-data' });
    core.runtime.rollback = 'web did not become healthy on the swarm';

    await restartRollingPilot(core);

    assert.deepEqual(core.runtime.singleHost, []);
    const [event] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.equal(event?.kind, 'release.restore-failed');
    assert.match(event?.message ?? '', /^v1 could not be moved onto the swarm \(.*\): .*web did not become healthy on the swarm.*; its containers from one host were stopped first \(pt-shop-blue\), its data is on its volumes \(pt-shop-data\); deploy the app again$/);
  });

  it('a volume that cannot be placed on the manager stops nothing: the containers from one host serve on', async () => {
    const core = rollingCore();
    const app = await ranOnOneHost(core, 'shop');
    core.volumes.add(app.id, { path: '/data', name: 'pt-shop-data' });
    core.runtime.placeFailure = 'the manager\'s engine gave no swarm node id';

    await restartRollingPilot(core);

    assert.deepEqual(core.runtime.singleHost.map((process) => process.name), ['pt-shop-blue']);
    assert.equal(core.runtime.replaced.length, 0, 'no service made');
    const [event] = core.events.list({ appId: app.id }, { limit: 1 });
    assert.match(event?.message ?? '', /^v1 could not be moved onto the swarm \(.*\): the manager's engine gave no swarm node id; its containers from one host are left running; deploy the app again$/);
  });

  it('apps with services are not touched; containers from one host of those, of apps with no live release and of destroyed apps go at once', async () => {
    const core = rollingCore();
    const served = core.apps.create('served');
    await core.push('served');
    const tasks = await core.runtime.list({ app: 'served' });
    const fresh = core.apps.create('fresh');
    core.releases.create({ appId: fresh.id, kind: 'deploy', gitSha: 'c'.repeat(40), config: {} });
    // A leftover of an app served by its services (moved by a push since), of an app with no live release, of a destroyed app.
    for (const [id, app, slot] of [['h1', 'served', 'blue'], ['h2', 'fresh', 'green'], ['h3', 'gone', 'blue']] as const) {
      core.runtime.singleHost.push({ id, name: `pt-${app}-${slot}`, identity: { app, release: 1, slot, type: 'web', index: 1 }, running: true, status: 'running', exitCode: 0, restartCount: 0, startedAt: undefined, address: undefined });
    }
    const replacedBefore = core.runtime.replaced.length;

    const { removed, restored } = await restartRollingPilot(core);

    assert.deepEqual(restored, []);
    assert.equal(core.runtime.replaced.length, replacedBefore, 'nothing replaced');
    assert.deepEqual(removed.sort(), ['pt-fresh-green', 'pt-gone-blue', 'pt-served-blue']);
    assert.deepEqual(core.runtime.singleHost, []);
    assert.deepEqual(await core.runtime.list({ app: 'served' }), tasks);
    assert.equal(core.releases.live(served.id)?.version, 1);
  });

  it('an app scaled to 0 keeps its services at 0; an app from one host at formation 0 gets none made for nothing', async () => {
    const core = rollingCore();
    const scaled = core.apps.create('scaled');
    await core.push('scaled');
    const live = core.releases.live(scaled.id);
    assert.ok(live);
    core.formation.set(scaled.id, { web: 0 });
    await core.runtime.schedule(spec('scaled', live.version), { web: 0 }, 'blue', { types: ['web'], renew: false });
    const stopped = await ranOnOneHost(core, 'stopped', 0);
    const replacedBefore = core.runtime.replaced.length;

    const { removed, restored } = await restartRollingPilot(core);

    assert.deepEqual(restored, []);
    assert.deepEqual(removed, []);
    assert.equal(core.runtime.replaced.length, replacedBefore);
    assert.deepEqual(await core.runtime.scheduled(), [{ app: 'scaled', type: 'web', release: live.version, slot: 'blue', replicas: 0 }]);
    assert.equal(core.releases.live(stopped.id)?.version, 1);
  });
});
