import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCore, type Core } from '../../helpers/core.js';
import { LimitsService } from '../../../src/services/limits.js';
import { SOMEONE } from '../../helpers/releases.js';

/** Upstreams Caddy serves for the app now, from the last Caddyfile Pilot loaded. */
async function routed(core: Core): Promise<string[]> {
  return (await core.router.upstreams()).sort();
}

async function addressesOf(core: Core, app: string, filter: { release?: number; slot?: 'blue' | 'green' } = {}): Promise<string[]> {
  return (await core.runtime.list({ app, ...filter })).filter((process) => process.identity.type === 'web').map((process) => `${process.address}:5000`).sort();
}

describe('rollout of a push (fakes of the runtime, Caddy and images; real stores, route table and rollout)', () => {
  it('builds, starts, checks, switches and retires the release before it, in that order', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    const first = await core.push('shop');
    assert.equal(first.live, true, first.output);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    const second = await core.push('shop', 'c'.repeat(40));
    assert.equal(second.live, true, second.output);
    assert.equal(core.releases.live(app.id)?.version, 2);
    assert.equal(core.releases.byVersion(app.id, 1)?.status, 'retired');
    assert.deepEqual(core.runtime.running(), ['v2 web.1 green']);
    assert.deepEqual(await routed(core), await addressesOf(core, 'shop'));
    const order = core.runtime.events.filter((event) => event.includes('v1') || event.startsWith('start v2') || event.startsWith('check v2'));
    assert.deepEqual(order, ['start v1 web.1 blue', 'check v1 web.1 blue: healthy', 'serve v1 web.1 blue', 'start v2 web.1 green', 'check v2 web.1 green: healthy', 'retire v1 web.1 blue']);
    assert.match(second.output, /Switched traffic to v2/);
    assert.deepEqual(core.wentLive, ['shop', 'shop']);
  });

  it('a failing build starts nothing, fails the release, and the live release serves on', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    const before = await routed(core);
    core.images.buildFailure = 'The command \'/bin/sh -c npm ci\' returned a non-zero code: 1';
    const { live, output } = await core.push('shop', 'c'.repeat(40));
    assert.equal(live, false);
    assert.equal(core.releases.byVersion(app.id, 2)?.status, 'failed');
    assert.match(core.releases.byVersion(app.id, 2)?.failureReason ?? '', /npm ci/);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.deepEqual(await routed(core), before);
    assert.match(output, /v1 is still serving/);
  });

  for (const [behaviour, reason] of [['exits', /exited with code 1/], ['times-out', /no answer on port 5000/]] as const) {
    it(`a web process that ${behaviour === 'exits' ? 'exits' : 'never answers'} is removed with its last logs shown, and v1 serves on`, async () => {
      const core = buildCore();
      const app = core.apps.create('shop');
      await core.push('shop');
      const before = await routed(core);
      core.runtime.checks.set('v2 web.1', behaviour);
      const { live, output } = await core.push('shop', 'c'.repeat(40));
      assert.equal(live, false);
      const failed = core.releases.byVersion(app.id, 2);
      assert.equal(failed?.status, 'failed');
      assert.match(failed?.failureReason ?? '', reason);
      assert.match(output, /last lines of the app log:\n.*log of web\.1/);
      assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
      assert.ok(core.runtime.events.includes('remove v2 web.1 green'));
      assert.deepEqual(await routed(core), before);
      assert.equal(core.releases.live(app.id)?.version, 1);
    });
  }

  it('a worker that exits fails the release even when web is healthy; both new processes go', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { worker: 1 });
    const v1 = await core.liveRelease(app, { processes: { web: null, worker: 'node worker.js' } });
    core.runtime.checks.set(`v${v1.version + 1} worker.1`, 'exits');
    const release = await core.deployer.changeApp(app, (live) => ({ commit: () => undefined, release: { kind: 'config', from: live!, config: { A: '1' }, buildKeys: [], madeBy: SOMEONE } })).catch((error: Error) => error);
    assert.ok(release instanceof Error);
    assert.match(release.message, /v2 failed: worker\.1: the process exited with code 1 before answering; v1 is still serving/);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 worker.1 blue']);
    assert.deepEqual(core.configVars.get(app.id), {}, 'the config change was not written');
  });

  it('a start the engine refuses removes what started before it', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 2 });
    await core.liveRelease(app);
    core.runtime.failingStarts.add('v2 web.2');
    await assert.rejects(core.deployer.changeApp(app, (live) => ({ commit: () => undefined, release: { kind: 'config', from: live!, config: {}, buildKeys: [], madeBy: SOMEONE } })), /could not start web\.2/);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue']);
    assert.ok(core.runtime.events.includes('remove v2 web.1 green'));
  });

  it('when Caddy refuses the new routes the release fails, its processes go, and the old routes stay', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    const before = await routed(core);
    core.router.refusal = 'adapting config using caddyfile: ambiguous site definition';
    const { live, output } = await core.push('shop', 'c'.repeat(40));
    core.router.refusal = undefined;
    assert.equal(live, false);
    assert.match(core.releases.byVersion(app.id, 2)?.failureReason ?? '', /ambiguous site definition/);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.deepEqual(await routed(core), before);
    assert.match(output, /v1 is still serving/);
  });

  it('when Caddy does not take the new upstreams the routes are put back and the release fails', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    core.router.dropUpstreams = true;
    const { live } = await core.push('shop', 'c'.repeat(40));
    core.router.dropUpstreams = false;
    assert.equal(live, false);
    assert.match(core.releases.byVersion(app.id, 2)?.failureReason ?? '', /Caddy did not take the new upstreams/);
    assert.equal(core.releases.live(app.id)?.version, 1);
    assert.deepEqual(await routed(core), await addressesOf(core, 'shop', { release: 1 }));
  });

  it('a retirement that fails leaves the new release live and serving (the failure is logged)', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    core.runtime.failRetire = true;
    const { live } = await core.push('shop', 'c'.repeat(40));
    assert.equal(live, true);
    assert.equal(core.releases.live(app.id)?.version, 2);
    assert.deepEqual(await routed(core), await addressesOf(core, 'shop', { release: 2 }));
  });
});

describe('changes of a live app through the one rollout', () => {
  it('scales up and down without touching the processes that stay, and keeps the scale only once it serves', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    const [web1] = await core.runtime.list({ app: 'shop' });
    await core.processes.scale(app, { web: 3 });
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue', 'v1 web.3 blue']);
    assert.deepEqual(core.formation.get(app.id), { web: 3 });
    assert.equal((await routed(core)).length, 3);
    await core.processes.scale(app, { web: 1 });
    await core.rollout.settle();
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.equal((await core.runtime.list({ app: 'shop' }))[0]?.id, web1?.id, 'web.1 was never replaced');
    assert.deepEqual(await routed(core), [`${web1?.address}:5000`]);
  });

  it('a scale whose new process fails its check changes nothing', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    core.runtime.checks.set('web.2', 'times-out');
    await assert.rejects(core.processes.scale(app, { web: 2 }), /web\.2: no answer .*; v1 serves on as before/);
    assert.deepEqual(core.formation.get(app.id), {});
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.equal((await routed(core)).length, 1);
  });

  it('scaling a worker from 0 starts it; scaling web to 0 takes the app off the routes', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app, { processes: { web: null, worker: 'node worker.js' } });
    await core.processes.scale(app, { worker: 2, web: 0 });
    await core.rollout.settle();
    assert.deepEqual(core.runtime.running(), ['v1 worker.1 blue', 'v1 worker.2 blue']);
    assert.deepEqual(await routed(core), []);
    const listed = await core.processes.list(app);
    assert.deepEqual(listed.map((process) => `${process.type}.${process.index ?? '-'} ${process.state}`), ['worker.1 running', 'worker.2 running', 'web.- scaled to 0']);
  });

  it('restarts every process blue/green: new ones in the other slot take the traffic, then the old ones retire', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 2, worker: 1 });
    const live = await core.liveRelease(app, { processes: { web: null, worker: 'node worker.js' } });
    const old = await addressesOf(core, 'shop');
    await core.processes.act(app, 'restart');
    await core.rollout.settle();
    assert.deepEqual(core.runtime.running(), ['v1 web.1 green', 'v1 web.2 green', 'v1 worker.1 green']);
    const after = core.releases.get(live.id);
    assert.equal(after?.slot, 'green');
    assert.equal(after?.status, 'live');
    assert.equal(after?.containerId, (await core.runtime.list({ app: 'shop' }))[0]?.id, 'logs and status follow the new web.1');
    const now = await routed(core);
    assert.deepEqual(now, await addressesOf(core, 'shop'));
    assert.ok(now.every((upstream) => !old.includes(upstream)));
    const retiredAfterServe = core.runtime.events.indexOf('retire v1 web.1 blue') > core.runtime.events.indexOf('serve v1 web.2 green');
    assert.ok(retiredAfterServe, core.runtime.events.join('\n'));
  });

  it('a restart of a non-web type restarts it in place; of web it rolls the release', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    core.formation.set(app.id, { worker: 1 });
    await core.liveRelease(app, { processes: { web: null, worker: 'node worker.js' } });
    const [, worker] = await core.runtime.list({ app: 'shop' });
    await core.processes.act(app, 'restart', ['worker']);
    assert.deepEqual(core.runtime.restarted, [worker!.id]);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 worker.1 blue']);
    await assert.rejects(core.processes.act(app, 'restart', ['clock']), /v1 has no process type "clock"/);
  });

  it('rolls back to an earlier release: its image and config, as a new release', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.push('shop');
    core.configVars.replace(app.id, { GREETING: 'hi' }, []);
    await core.push('shop', 'c'.repeat(40));
    const v1 = core.releases.byVersion(app.id, 1)!;
    const release = await core.deployer.changeApp(app, () => ({ commit: () => undefined, release: { kind: 'rollback', from: v1, config: v1.config, buildKeys: v1.buildKeys, madeBy: SOMEONE } }));
    await core.rollout.settle();
    assert.equal(release?.version, 3);
    assert.equal(release?.image, v1.image);
    assert.equal(core.releases.live(app.id)?.version, 3);
    assert.deepEqual(core.configVars.get(app.id), {}, 'the config of v1 is the app config again');
    assert.deepEqual(core.runtime.running(), ['v3 web.1 blue']);
  });

  it('collects the registry of swarm mode with the images it keeps, once the old release retired', async () => {
    const core = buildCore({ PILOT_KEEP_RELEASES: '2' });
    core.apps.create('shop');
    for (const sha of ['a', 'b', 'c']) await core.push('shop', sha.repeat(40));
    assert.deepEqual(core.images.removed, ['pt/shop:v1']);
    assert.deepEqual(core.registry.collected.at(-1), { app: 'shop', keepTags: ['v3', 'v2'] });
  });

  it('refuses a rollback to a pruned image before creating a release', async () => {
    const core = buildCore({ PILOT_KEEP_RELEASES: '3' });
    const app = core.apps.create('shop');
    await core.push('shop');
    await core.push('shop', 'c'.repeat(40));
    const v1 = core.releases.byVersion(app.id, 1)!;
    core.images.pruned.add(v1.image!);
    await assert.rejects(
      core.deployer.changeApp(app, () => ({ commit: () => undefined, release: { kind: 'rollback', from: v1, config: v1.config, buildKeys: [], madeBy: SOMEONE } })),
      /the image of v1 was pruned \(images are kept for the last 3 releases\): push that commit again to rebuild it/,
    );
    assert.equal(core.releases.list(app.id).length, 2);
  });

  it('decides each change under the lock from the state then: concurrent config changes lose nothing', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    const setVar = (key: string) =>
      core.deployer.changeApp(app, (live) => {
        const config = { ...core.configVars.get(app.id), [key]: 'yes' };
        return { commit: () => undefined, release: { kind: 'config', from: live!, config, buildKeys: [], madeBy: SOMEONE } };
      });
    await Promise.all([setVar('A'), setVar('B'), setVar('C')]);
    await core.rollout.settle();
    assert.deepEqual(core.configVars.get(app.id), { A: 'yes', B: 'yes', C: 'yes' });
    assert.equal(core.releases.live(app.id)?.version, 4);
  });

  it('writes a change at once when nothing is live, and never when its release fails', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    const written: string[] = [];
    assert.equal(await core.deployer.changeApp(app, () => ({ commit: () => written.push('first') })), null);
    await core.liveRelease(app);
    core.runtime.checks.set('v2 web.1', 'times-out');
    await assert.rejects(core.deployer.changeApp(app, (live) => ({ commit: () => written.push('second'), release: { kind: 'config', from: live!, config: {}, buildKeys: [], madeBy: SOMEONE } })));
    assert.deepEqual(written, ['first']);
  });

  it("scales back up during a scale-down's drain: the draining processes retire, fresh ones serve", async () => {
    const core = buildCore({ PILOT_DRAIN_SECONDS: '1' });
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    await core.processes.scale(app, { web: 0 });
    await core.processes.scale(app, { web: 1 });
    await core.rollout.settle();
    assert.equal(core.formation.get(app.id).web, 1);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.deepEqual(await routed(core), await addressesOf(core, 'shop'));
  });

  it('never routes to a process that drains from an earlier scale-down', async () => {
    const core = buildCore({ PILOT_DRAIN_SECONDS: '1' });
    const app = core.apps.create('shop');
    core.formation.set(app.id, { web: 2 });
    await core.liveRelease(app);
    await core.processes.scale(app, { web: 1 });
    await core.processes.scale(app, { web: 3 });
    await core.rollout.settle();
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue', 'v1 web.2 blue', 'v1 web.3 blue']);
    assert.deepEqual(await routed(core), await addressesOf(core, 'shop'), 'every upstream is a running process');
  });

  it('starts a change queued behind another with what that one wrote (limits under the lock)', async () => {
    const core = buildCore();
    const limits = new LimitsService({ apps: core.apps, configVars: core.configVars, deployer: core.deployer, defaults: core.settings });
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    const asRequested = core.apps.findByName('shop')!;
    await Promise.all([limits.set(asRequested, { memory: '256m' }, SOMEONE), core.processes.act(asRequested, 'restart')]);
    await core.rollout.settle();
    const [web] = await core.runtime.list({ app: 'shop' });
    assert.equal(core.runtime.startedWith(web!.id)?.memoryBytes, 256 * 2 ** 20);
  });

  it('puts Caddy back on what serves when confirming a switch fails, before the new processes go', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    const before = await routed(core);
    const upstreams = core.router.upstreams.bind(core.router);
    let failOnce = true;
    core.router.upstreams = async () => {
      if (failOnce) {
        failOnce = false;
        throw new Error('connect ECONNREFUSED caddy admin');
      }
      return upstreams();
    };
    await assert.rejects(core.processes.act(app, 'restart'), /ECONNREFUSED/);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.deepEqual(await routed(core), before);
  });
});

