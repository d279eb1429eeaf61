import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HealthMonitor } from '../../../src/services/health-monitor.js';
import { buildCore, type Core } from '../../helpers/core.js';

/** A monitor over the core, without its timer: each test runs the rounds itself. */
function monitorOf(core: Core, settings: Partial<ConstructorParameters<typeof HealthMonitor>[0]['settings']> = {}) {
  const monitor = new HealthMonitor({
    ...core,
    isDeploying: (app) => core.deployer.isDeploying(app),
    settings: { healthIntervalSeconds: 0, unhealthyAfter: 3, crashLoopRestarts: 3, crashLoopMinutes: 5, stopTimeoutSeconds: 0, ...settings },
  });
  monitor.start();
  return monitor;
}

async function twoWebProcesses() {
  const core = buildCore();
  const shop = core.apps.create('shop');
  core.formation.set(shop.id, { web: 2 });
  await core.liveRelease(shop);
  await new Promise((resolve) => setImmediate(resolve));
  const [first, second] = core.live.list({ app: 'shop' });
  return { core, shop, first: first!, second: second! };
}

const kinds = (core: Core, appId: number) => core.events.list({ appId }, { limit: 100 }).map((event) => `${event.kind} ${event.process ?? ''}`.trim());

describe('HealthMonitor (fake runtime and Caddy)', () => {
  it('takes a process out of the route after 3 failed checks while the other serves, restarts it, and routes it again once it passes', async () => {
    const { core, shop, first, second } = await twoWebProcesses();
    const monitor = monitorOf(core);
    core.runtime.probes.set('web.2', 'GET / answered 500');
    await monitor.checkAll();
    await monitor.checkAll();
    assert.equal(core.live.get(second.id)?.health, 'unknown', 'two failures are not enough');
    assert.equal((await core.router.upstreams()).length, 2);
    await monitor.checkAll();
    assert.equal(core.live.get(second.id)?.health, 'unhealthy');
    assert.deepEqual(await core.router.upstreams(), [`${first.address}:5000`], 'only the healthy process is routed');
    assert.deepEqual(core.processes.list(shop).map((process) => `${process.type}.${process.index} ${process.health}`), ['web.1 healthy', 'web.2 unhealthy']);
    assert.deepEqual(kinds(core, shop.id), ['process.unhealthy web.2', 'restart web.2']);
    assert.deepEqual(core.runtime.restarted, [second.id]);
    assert.match(core.events.list({ appId: shop.id }, { limit: 100 })[0]!.message, /web\.2 of v1 is unhealthy: GET \/ answered 500 \(3 checks in a row\)/);
    core.runtime.probes.delete('web.2');
    await monitor.checkAll();
    assert.equal(core.live.get(second.id)?.health, 'healthy');
    assert.deepEqual((await core.router.upstreams()).sort(), [`${first.address}:5000`, `${second.address}:5000`].sort());
    assert.deepEqual(kinds(core, shop.id).at(-1), 'process.recovered web.2');
    await monitor.stop();
  });

  it('keeps every process routed when all of them are unhealthy (something may still answer)', async () => {
    const { core, first, second } = await twoWebProcesses();
    const monitor = monitorOf(core, { unhealthyAfter: 1 });
    core.runtime.probes.set('web.1', 'GET / refused the connection');
    core.runtime.probes.set('web.2', 'GET / refused the connection');
    await monitor.checkAll();
    assert.equal(core.live.get(first.id)?.health, 'unhealthy');
    assert.deepEqual((await core.router.upstreams()).sort(), [`${first.address}:5000`, `${second.address}:5000`].sort());
    await monitor.stop();
  });

  it('does not restart an unhealthy process while a rollout of its app runs', async () => {
    const { core, second } = await twoWebProcesses();
    const monitor = new HealthMonitor({
      ...core,
      isDeploying: () => true,
      settings: { healthIntervalSeconds: 0, unhealthyAfter: 1, crashLoopRestarts: 3, crashLoopMinutes: 5, stopTimeoutSeconds: 0 },
    });
    core.runtime.probes.set('web.2', 'GET / answered 503');
    await monitor.checkAll();
    assert.equal(core.live.get(second.id)?.health, 'unhealthy');
    assert.deepEqual(core.runtime.restarted, []);
  });

  it('reports a crash loop once: N restarts by the runtime within M minutes', async () => {
    const { core, shop, first } = await twoWebProcesses();
    const monitor = monitorOf(core);
    for (let restarts = 1; restarts <= 5; restarts += 1) core.runtime.set(first.id, { restartCount: restarts });
    const loops = core.events.list({ appId: shop.id }, { limit: 100 }).filter((event) => event.kind === 'process.crash-loop');
    assert.equal(loops.length, 1);
    assert.match(loops[0]!.message, /web\.1 of v1 is crash-looping: 3 restarts in 5 min/);
    await monitor.stop();
  });
});
