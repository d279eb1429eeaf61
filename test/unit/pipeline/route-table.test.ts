import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { watchRoutes } from '../../../src/pipeline/route-watch.js';
import { buildCore } from '../../helpers/core.js';

describe('RouteTable (fake runtime and Caddy, real stores and Caddyfile template)', () => {
  it('routes each live app to its running web processes up to its web scale, in the serving slot only', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    const blog = core.apps.create('blog');
    core.formation.set(shop.id, { web: 2 });
    await core.liveRelease(shop);
    await core.liveRelease(blog, { processes: { web: null, worker: 'node w.js' } });
    core.apps.create('empty');
    const processes = await core.runtime.list();
    const web = (app: string) => processes.filter((process) => process.identity.app === app && process.identity.type === 'web').map((process) => `${process.address}:5000`);
    const caddyfile = await core.routes.render();
    assert.match(caddyfile, new RegExp(`http://shop\\.pilot\\.test \\{[\\s\\S]*reverse_proxy ${web('shop').join(' ')}`));
    assert.match(caddyfile, new RegExp(`http://blog\\.pilot\\.test \\{[\\s\\S]*reverse_proxy ${web('blog').join(' ')}`));
    assert.doesNotMatch(caddyfile, /empty\.pilot\.test/, 'an app with nothing live has no route');
    // A process of the live release left in the other slot (a restart cut short) never serves.
    const live = core.releases.live(shop.id)!;
    core.runtime.leave({ instance: 'pt', app: 'shop', version: live.version, image: 'x', config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 512 }, { app: 'shop', release: live.version, slot: 'green', type: 'web', index: 1 });
    await core.routes.reload();
    assert.deepEqual((await core.router.upstreams()).filter((upstream) => !web('blog').includes(upstream)).sort(), web('shop').sort());
  });

  it('leaves a stopped web process out and takes it back once it runs again', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    core.formation.set(shop.id, { web: 2 });
    await core.liveRelease(shop);
    const [first, second] = await core.runtime.list({ app: 'shop' });
    core.runtime.set(second!.id, { running: false, status: 'exited' });
    await core.routes.reload();
    assert.deepEqual(await core.router.upstreams(), [`${first!.address}:5000`]);
    core.runtime.set(second!.id, { running: true, status: 'running' });
    assert.equal(await core.routes.refreshIfStale(), 'container-address-changed');
    assert.deepEqual((await core.router.upstreams()).sort(), [`${first!.address}:5000`, `${second!.address}:5000`].sort());
  });

  it('reloads when Caddy lost its config or a routed process came back at a new address, and only then', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.liveRelease(shop);
    assert.equal(await core.routes.refreshIfStale(), undefined);
    core.router.replaceBehindPilot();
    assert.equal(await core.routes.refreshIfStale(), 'caddy-config-changed');
    assert.equal(await core.routes.refreshIfStale(), undefined);
    const [web] = await core.runtime.list({ app: 'shop' });
    core.runtime.set(web!.id, { address: '10.200.0.9' });
    assert.equal(await core.routes.refreshIfStale(), 'container-address-changed');
    assert.deepEqual(await core.router.upstreams(), ['10.200.0.9:5000']);
  });

  it('refuses nothing silently: a load Caddy refuses leaves the routes as they were and says why', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.liveRelease(shop);
    const before = await core.router.upstreams();
    core.router.refusal = 'Caddyfile:12: unrecognized directive';
    core.domains.add(shop.id, 'www.example.com');
    await assert.rejects(core.routes.reload(), /unrecognized directive/);
    assert.deepEqual(await core.router.upstreams(), before);
  });
});

describe('watchRoutes', () => {
  it('checks when woken (a process started) and reloads stale routes, then stops for good', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.liveRelease(shop);
    const loads = core.router.loaded.length;
    const watch = watchRoutes(core.routes, pino({ level: 'silent' }), 60_000, (wake) => core.runtime.watchStarts(wake));
    core.router.replaceBehindPilot();
    // A start of any process wakes the watch long before its one-minute interval.
    core.runtime.leave({ instance: 'pt', app: 'other', version: 1, image: 'x', config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 512 }, { app: 'other', release: 1, slot: 'blue', type: 'web', index: 1 });
    await core.runtime.start({ instance: 'pt', app: 'other', version: 2, image: 'x', config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 512 }, [{ identity: { app: 'other', release: 2, slot: 'green', type: 'web', index: 1 }, command: null }], () => undefined);
    const deadline = Date.now() + 10_000;
    while (core.router.loaded.length <= loads + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(core.router.loaded.length > loads + 1, 'the watch reloaded the routes');
    assert.ok((await core.router.upstreams()).length > 0);
    watch.stop();
    assert.equal(core.runtime.startWatchers, 0, 'stopping the watch stops following starts');
  });
});

describe('pages Caddy answers itself', () => {
  it('answers 503 with a page when no web process of a live app runs, and proxies again once one does', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.liveRelease(shop, { processes: { web: null, worker: 'node w.js' } });
    await core.processes.scale(shop, { web: 0 });
    await core.rollout.settle();
    const caddyfile = core.router.loaded.at(-1) ?? '';
    assert.match(caddyfile, /http:\/\/shop\.pilot\.test \{[^}]*respond "<!doctype html>.*shop is not running.*" 503/s);
    assert.doesNotMatch(caddyfile, /Retry-After/);
    await core.processes.scale(shop, { web: 1 });
    assert.match(core.router.loaded.at(-1) ?? '', /http:\/\/shop\.pilot\.test \{[^}]*reverse_proxy \d/s);
  });

  it('serves the maintenance page with Retry-After while the app runs on, and a deploy in maintenance still goes live', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.push('shop');
    core.apps.setMaintenance(shop.id, true);
    await core.routes.reload();
    const caddyfile = core.router.loaded.at(-1) ?? '';
    assert.match(caddyfile, /header Retry-After 60\n\s*header Content-Type "text\/html; charset=utf-8"[\s\S]*respond "<!doctype html>.*shop is down for maintenance.*" 503/);
    assert.doesNotMatch(caddyfile, /reverse_proxy 10\./, 'nothing is proxied to the app');
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue'], 'the app keeps running');
    const { live, output } = await core.push('shop', 'c'.repeat(40));
    assert.equal(live, true, output);
    assert.match(core.router.loaded.at(-1) ?? '', /shop is down for maintenance/);
    core.apps.setMaintenance(shop.id, false);
    await core.routes.reload();
    assert.deepEqual(await core.router.upstreams(), (await core.runtime.list({ app: 'shop' })).map((process) => `${process.address}:5000`));
  });

  it('gives a worker-only app neither a route nor a page', async () => {
    const core = buildCore();
    const jobs = core.apps.create('jobs');
    await core.liveRelease(jobs, { processes: { worker: 'node w.js' } });
    assert.doesNotMatch(await core.routes.render(), /jobs\.pilot\.test/);
  });
});
