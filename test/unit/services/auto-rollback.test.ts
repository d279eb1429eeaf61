import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AutoRollback } from '../../../src/services/auto-rollback.js';
import { HealthMonitor } from '../../../src/services/health-monitor.js';
import { buildCore, type Core } from '../../helpers/core.js';

function watching(core: Core, watchSeconds: number) {
  const rollback = new AutoRollback({ ...core, watchSeconds: () => watchSeconds });
  rollback.start(core.events);
  return rollback;
}

const settings = { healthIntervalSeconds: 0, unhealthyAfter: 2, crashLoopRestarts: 3, crashLoopMinutes: 5, stopTimeoutSeconds: 0 };

describe('AutoRollback (fake runtime, real stores, rollout and health monitor)', () => {
  it('rolls a release that turns unhealthy within its watch back to the one before, and says why', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.push('shop', 'a'.repeat(40));
    const rollback = watching(core, 60);
    await core.push('shop', 'b'.repeat(40));
    const monitor = new HealthMonitor({ ...core, isDeploying: () => false, settings });
    monitor.start();
    core.runtime.probes.set('v2 web.1', 'GET / answered 500');
    await monitor.checkAll();
    await monitor.checkAll();
    await rollback.settle();
    await core.rollout.settle();
    const live = core.releases.live(shop.id)!;
    assert.equal(live.version, 3);
    assert.equal(live.kind, 'rollback');
    assert.deepEqual(live.madeBy, { kind: 'pilot', tokenId: null, label: 'Pilot (automatic rollback)' });
    assert.equal(live.image, core.releases.byVersion(shop.id, 1)!.image, 'the image of v1 serves again');
    assert.deepEqual(core.runtime.running(), [`v3 web.1 ${live.slot}`]);
    assert.match(core.releases.log(live.id), /automatic rollback of v2: web\.1 of v2 is unhealthy: GET \/ answered 500/);
    const events = core.events.list({ appId: shop.id }, { limit: 100 });
    const automatic = events.find((event) => event.kind === 'rollback.automatic');
    assert.match(automatic!.message, /automatic rollback of v2: .*; v1 serves again as v3/);
    await monitor.stop();
    await rollback.stop();
  });

  it('rolls back on a crash loop too, and only the watched release: a trouble of another one changes nothing', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.push('shop', 'a'.repeat(40));
    const rollback = watching(core, 60);
    await core.push('shop', 'b'.repeat(40));
    core.events.record({ appId: shop.id, app: 'shop', kind: 'process.crash-loop', release: 1, message: 'web.1 of v1 is crash-looping' });
    await rollback.settle();
    assert.equal(core.releases.live(shop.id)!.version, 2, 'v1 is not the watched release');
    core.events.record({ appId: shop.id, app: 'shop', kind: 'process.crash-loop', release: 2, message: 'web.1 of v2 is crash-looping: 3 restarts in 5 min' });
    await rollback.settle();
    assert.equal(core.releases.live(shop.id)!.kind, 'rollback');
    await rollback.stop();
  });

  it('does nothing with PILOT_WATCH_SECONDS=0, nor for a first release (nothing to go back to)', async () => {
    const off = buildCore();
    const shop = off.apps.create('shop');
    await off.push('shop', 'a'.repeat(40));
    const never = watching(off, 0);
    await off.push('shop', 'b'.repeat(40));
    off.events.record({ appId: shop.id, app: 'shop', kind: 'process.unhealthy', release: 2, message: 'web.1 of v2 is unhealthy' });
    await never.settle();
    assert.equal(off.releases.live(shop.id)!.version, 2);

    const first = buildCore();
    const blog = first.apps.create('blog');
    const rollback = watching(first, 60);
    await first.push('blog');
    first.events.record({ appId: blog.id, app: 'blog', kind: 'process.unhealthy', release: 1, message: 'web.1 of v1 is unhealthy' });
    await rollback.settle();
    assert.equal(first.releases.live(blog.id)!.version, 1);
    assert.equal(first.releases.list(blog.id).length, 1, 'no release was made');
  });
});
