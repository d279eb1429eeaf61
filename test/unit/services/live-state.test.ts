import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { LiveState, type LiveEvent } from '../../../src/services/live-state.js';
import { buildCore } from '../../helpers/core.js';
import { FakeRuntime } from '../../helpers/fake-runtime.js';

const RUNTIME = { instance: 'pt', app: 'shop', version: 1, image: 'pt/shop:v1', config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 512 };

/** Lets the fake runtime's first listing (a microtask) arrive. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('LiveState (fake runtime)', () => {
  it('starts from one listing of the runtime, then follows each change without asking it again', async () => {
    const runtime = new FakeRuntime();
    const before = runtime.leave(RUNTIME, { app: 'shop', release: 1, slot: 'blue', type: 'web', index: 1 });
    const live = new LiveState(runtime, pino({ level: 'silent' }));
    await live.start();
    assert.deepEqual(live.list().map((process) => process.id), [before]);
    // From now on nothing may be read from the runtime: only its stream of changes counts.
    runtime.list = async () => assert.fail('the live state listed the runtime after its start');
    runtime.inspect = async () => assert.fail('the live state inspected a process after its start');
    const worker = runtime.leave(RUNTIME, { app: 'shop', release: 1, slot: 'blue', type: 'worker', index: 1 });
    runtime.set(before, { running: false, status: 'exited', exitCode: 137 });
    assert.deepEqual(live.list({ app: 'shop' }).map((process) => `${process.identity.type}:${process.status}`), ['web:exited', 'worker:running']);
    await runtime.remove([worker]);
    assert.equal(live.get(worker), undefined, 'a removed process is gone from the state');
    live.stop();
  });

  it('tells a crash (the runtime restarted the process) once per restart, with the count', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.liveRelease(shop);
    await settled();
    const events: LiveEvent[] = [];
    core.live.subscribe((event) => events.push(event));
    const [web] = core.live.list({ app: 'shop' });
    core.runtime.set(web!.id, { restartCount: 1 });
    core.runtime.set(web!.id, { status: 'running' });
    core.runtime.set(web!.id, { restartCount: 2 });
    assert.deepEqual(events.map((event) => (event.kind === 'crashed' ? `crashed ${event.restarts}` : event.kind)), ['crashed 1', 'crashed 2']);
  });

  it('after a reconnect, the new listing replaces what changes were missed meanwhile', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    core.formation.set(shop.id, { web: 2 });
    await core.liveRelease(shop);
    await settled();
    const [first, second] = core.live.list({ app: 'shop' });
    core.runtime.silent = true;
    await core.runtime.remove([second!.id]);
    core.runtime.set(first!.id, { running: false, status: 'exited' });
    assert.equal(core.live.list({ app: 'shop' }).length, 2, 'the missed changes are not known yet');
    core.runtime.silent = false;
    core.runtime.relist();
    assert.deepEqual(core.live.list({ app: 'shop' }).map((process) => `${process.id}:${process.status}`), [`${first!.id}:exited`]);
  });

  it('pilot ps reads the state from memory: status, restarts, start time and health of the serving processes', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    core.formation.set(shop.id, { web: 2 });
    await core.liveRelease(shop, { processes: { web: null, worker: 'node w.js' } });
    await settled();
    const [first] = core.live.list({ app: 'shop' });
    core.runtime.set(first!.id, { restartCount: 3 });
    core.live.setHealth(first!.id, 'unhealthy');
    core.runtime.list = async () => assert.fail('pilot ps listed the runtime');
    core.runtime.inspect = async () => assert.fail('pilot ps inspected a process');
    const shown = core.processes.list(shop);
    assert.deepEqual(
      shown.map((process) => `${process.type}.${process.index ?? '-'} ${process.state} ${process.restarts} ${process.health}`),
      ['web.1 running 3 unhealthy', 'web.2 running 0 unknown', 'worker.- scaled to 0 0 unknown'],
    );
    assert.ok(shown[0]!.startedAt, 'the start time comes with the state');
  });

  it('shows the change Pilot made itself (a scale) in its answer, without waiting for events', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.liveRelease(shop);
    await settled();
    core.runtime.silent = true;
    const shown = await core.processes.scale(shop, { web: 3 });
    assert.deepEqual(shown.map((process) => `${process.type}.${process.index}`), ['web.1', 'web.2', 'web.3']);
  });
});
