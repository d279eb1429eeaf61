import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCore, type Core } from '../../helpers/core.js';
import { failInterruptedReleases } from '../../../src/pipeline/reconcile.js';
import type { FakeRollingRuntime } from '../../helpers/fake-runtime.js';

/** The core in swarm mode: a runtime with `replace`, the route table following its processes of any release. */
function rollingCore(): Core & { runtime: FakeRollingRuntime } {
  return buildCore({}, { rolling: true }) as Core & { runtime: FakeRollingRuntime };
}

async function webAddresses(core: Core, app: string): Promise<string[]> {
  return (await core.runtime.list({ app })).filter((process) => process.identity.type === 'web').map((process) => `${process.address}:5000`).sort();
}

describe('rollout on a scheduler that replaces processes itself (swarm mode, fakes)', () => {
  it('hands the whole formation to replace, then switches to what runs and promotes the release', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 3 });
    const first = await core.push('shop');
    assert.equal(first.live, true, first.output);
    const second = await core.push('shop', 'c'.repeat(40));
    assert.equal(second.live, true, second.output);
    assert.deepEqual(core.runtime.replaced.map((request) => [request.runtime.version, request.quantities, request.renew]), [[1, { web: 3 }, true], [2, { web: 3 }, true]]);
    assert.deepEqual(core.runtime.running(), ['v2 web.1 green', 'v2 web.2 green', 'v2 web.3 green']);
    assert.equal(core.releases.live(app.id)?.version, 2);
    assert.equal(core.releases.byVersion(app.id, 1)?.status, 'retired');
    assert.deepEqual((await core.router.upstreams()).sort(), await webAddresses(core, 'shop'));
    // No start → check → retire of its own: the scheduler did it.
    assert.deepEqual(core.runtime.events.filter((event) => /^(start|check|retire) /.test(event)), []);
    assert.match(second.output, /v2 is live on every task/);
    const serving = (await core.runtime.list({ app: 'shop' })).filter((process) => process.running).map((process) => process.id);
    assert.ok(serving.includes(core.releases.live(app.id)?.containerId ?? ''), 'the promoted release records a web task it runs');
  });

  it('a rollback by the scheduler fails the release; the live one and its routes stay', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    const routed = (await core.router.upstreams()).sort();
    core.runtime.rollback = 'pt-shop-web did not become healthy on the swarm; Swarm rolled it back and the previous release serves on';
    const { live, output } = await core.push('shop', 'c'.repeat(40));
    assert.equal(live, false);
    assert.equal(core.releases.byVersion(app.id, 2)?.status, 'failed');
    assert.match(core.releases.byVersion(app.id, 2)?.failureReason ?? '', /rolled it back/);
    assert.equal(core.releases.live(app.id)?.version, 1);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.deepEqual((await core.router.upstreams()).sort(), routed);
    assert.match(output, /v1 is still serving/);
  });

  it('a switch that fails after the replace puts the processes back on the live release; the release fails, v1 serves on', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 2 });
    await core.push('shop');
    const scheduled = await core.runtime.scheduled();
    core.router.refusal = 'adapting config using caddyfile: ambiguous site definition';
    const { live, output } = await core.push('shop', 'c'.repeat(40));
    core.router.refusal = undefined;
    assert.equal(live, false);
    assert.equal(core.runtime.replaced.at(-1)?.runtime.version, 2, 'the replace itself went through');
    assert.ok(core.runtime.events.includes('undo shop v2'));
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue']);
    assert.deepEqual(await core.runtime.scheduled(), scheduled, 'the scheduler is asked to run v1 as before');
    assert.equal(core.releases.byVersion(app.id, 2)?.status, 'failed');
    assert.match(core.releases.byVersion(app.id, 2)?.failureReason ?? '', /Caddy refused the routes: .*ambiguous site definition/);
    assert.equal(core.releases.live(app.id)?.version, 1);
    assert.match(output, /putting shop's processes back on v1/);
    assert.match(output, /v1 is still serving/);
    assert.equal(await core.routes.refreshIfStale(), 'tasks-changed');
    assert.deepEqual((await core.router.upstreams()).sort(), await webAddresses(core, 'shop'));
  });

  it('a release that Pilot stopping failed meanwhile is not promoted: its services go back to v1', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    // Pilot stops while the scheduler rolls v2 out: server.close fails the deploys still running.
    core.runtime.duringReplace = () => failInterruptedReleases({ ...core, runtime: core.runtime });
    const { live } = await core.push('shop', 'c'.repeat(40));
    assert.equal(live, false);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.equal(core.releases.byVersion(app.id, 2)?.status, 'failed');
    assert.match(core.releases.byVersion(app.id, 2)?.failureReason ?? '', /Pilot stopped while this release was checking/);
    assert.equal(core.releases.live(app.id)?.version, 1);
  });

  it('a scale whose switch fails goes back to the replicas that served; the scale is not kept', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    core.router.refusal = 'connection refused';
    await assert.rejects(core.processes.scale(app, { web: 3 }), /Caddy refused the routes: connection refused/);
    core.router.refusal = undefined;
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.deepEqual((await core.runtime.scheduled()).map((formation) => formation.replicas), [1]);
    assert.deepEqual(core.formation.get(app.id), {});
  });

  it('an undo that fails too is told to the pusher, and the release still fails', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    core.router.refusal = 'ambiguous site definition';
    core.runtime.undoFailure = 'pt-shop-web could not be put back as it ran before: see `docker service ps` on the manager, then deploy again';
    const { live, output } = await core.push('shop', 'c'.repeat(40));
    core.router.refusal = undefined;
    assert.equal(live, false);
    assert.match(output, /pt-shop-web could not be put back as it ran before/);
    assert.equal(core.releases.byVersion(app.id, 2)?.status, 'failed');
    assert.equal(core.releases.live(app.id)?.version, 1);
  });

  it('ps:scale changes the replicas of the live release without renewing its processes', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    const [before] = await core.runtime.list({ app: 'shop' });
    await core.processes.scale(app, { web: 2 });
    assert.equal(core.runtime.replaced.at(-1)?.renew, false);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue']);
    assert.equal((await core.runtime.list({ app: 'shop' }))[0]?.id, before?.id, 'web.1 kept');
    assert.deepEqual((await core.router.upstreams()).sort(), await webAddresses(core, 'shop'));
  });

  it('a scale-down that keeps web.1 and web.3 (Swarm balancing its nodes): both serve, both are listed, the routes stay', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    await core.processes.scale(app, { web: 3 });
    // As Swarm does when web.1 and web.2 share a node: the scale-down leaves one task on each node.
    core.runtime.scaleDownKeeps = (processes) => processes.filter((process) => process.identity.index !== 2);
    const listed = await core.processes.scale(app, { web: 2 });
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.3 blue']);
    assert.deepEqual(listed.map((process) => `${process.type}.${process.index} ${process.state}`), ['web.1 running', 'web.3 running']);
    assert.deepEqual(core.processes.list(app).map((process) => `${process.type}.${process.index}`), ['web.1', 'web.3']);
    assert.deepEqual((await core.router.upstreams()).sort(), await webAddresses(core, 'shop'));
    assert.equal(await core.routes.refreshIfStale(), undefined, 'the route watch keeps web.3 in the routes');
    assert.equal((await core.router.upstreams()).length, 2);
    // Scaled up again, the scheduler fills the free number.
    await core.processes.scale(app, { web: 3 });
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue', 'v1 web.3 blue']);
    assert.equal((await core.router.upstreams()).length, 3);
  });

  it('a scale-down from web.1 and web.3 reaches the scheduler: one task is left, as recorded', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    await core.processes.scale(app, { web: 3 });
    core.runtime.scaleDownKeeps = (processes) => processes.filter((process) => process.identity.index !== 2);
    await core.processes.scale(app, { web: 2 });
    core.runtime.scaleDownKeeps = undefined;
    // web.1 alone is within the old scale of 2: web.3 must still count as running, or nothing is asked of the scheduler.
    const listed = await core.processes.scale(app, { web: 1 });
    assert.equal(core.runtime.running().length, 1, core.runtime.running().join(', '));
    assert.equal(listed.length, 1);
    assert.equal((await core.router.upstreams()).length, 1);
    assert.deepEqual(core.formation.get(app.id), { web: 1 });
  });

  it('routes follow the processes of either release during a rolling update', async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    const live = core.releases.live(app.id);
    assert.ok(live);
    // The scheduler started a task of the next release beside the live one's: both serve.
    core.runtime.leave({ instance: 'pt', app: 'shop', version: live.version + 1, image: 'x', config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 1 },
      { app: 'shop', release: live.version + 1, slot: 'green', type: 'web', index: 1 });
    assert.equal(await core.routes.refreshIfStale(), 'tasks-changed');
    assert.deepEqual((await core.router.upstreams()).sort(), await webAddresses(core, 'shop'));
    assert.equal((await core.router.upstreams()).length, 2);
    assert.equal(await core.routes.refreshIfStale(), undefined, 'nothing changed since');
  });
});

describe('a rename on a scheduler that replaces processes itself', () => {
  it("the new name's processes come from replace; the old name's retire after the switch", async () => {
    const core = rollingCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 2 });
    await core.push('shop');
    const retired: string[] = [];
    const hooks = { prepare: async () => undefined, imageOf: (image: string) => image, commit: () => undefined, undo: async () => undefined, afterRetire: async (old: { name: string }) => void retired.push(old.name) };
    await core.deployer.renameApp(app, 'store', hooks);
    await core.rollout.settle();
    assert.deepEqual(core.runtime.replaced.at(-1)?.runtime.app, 'store');
    assert.deepEqual((await core.runtime.list()).map((process) => process.identity.app), ['store', 'store']);
    assert.deepEqual(retired, ['shop']);
  });
});
