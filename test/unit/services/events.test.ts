import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import WebSocket from 'ws';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createEventStore } from '../../../src/adapters/db/stores.js';
import { Events } from '../../../src/services/events.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';
import { buildCore } from '../../helpers/core.js';

const kinds = (core: ReturnType<typeof buildCore>, app: string) =>
  core.events.list({ appId: core.apps.findByName(app)!.id }, { limit: 100 }).map((event) => event.kind);

describe('Events', () => {
  it('records a deploy that went live and one that failed, with the release and the reason', async () => {
    const core = buildCore();
    core.apps.create('shop');
    assert.equal((await core.push('shop', 'a'.repeat(40))).live, true);
    core.runtime.checks.set('v2 web.1', 'exits');
    assert.equal((await core.push('shop', 'b'.repeat(40))).live, false);
    const events = core.events.list({ appId: core.apps.findByName('shop')!.id }, { limit: 100 });
    assert.deepEqual(events.map((event) => `${event.kind} v${event.release}`), ['deploy.started v1', 'deploy.succeeded v1', 'deploy.started v2', 'deploy.failed v2']);
    assert.match(events[3]!.message, /v2 failed: .*exited.*; v1 is still serving/);
  });

  it('records scale and restart changes, and a crash the runtime restarted, in the app timeline', async () => {
    const core = buildCore();
    const shop = core.apps.create('shop');
    await core.push('shop');
    await core.processes.scale(shop, { web: 2 });
    await core.processes.act(shop, 'restart');
    await new Promise((resolve) => setImmediate(resolve));
    const [web] = core.live.list({ app: 'shop', release: 1, slot: core.releases.live(shop.id)!.slot! });
    core.runtime.set(web!.id, { restartCount: 1 });
    assert.deepEqual(kinds(core, 'shop'), ['deploy.started', 'deploy.succeeded', 'scale', 'restart', 'process.crashed']);
    const crash = core.events.list({ appId: shop.id }, { limit: 1 })[0]!;
    assert.equal(crash.process, 'web.1');
    assert.match(crash.message, /web\.1 of v1 exited and was restarted \(1 restart so far\)/);
  });

  it('keeps each timeline bounded: the newest N of an app, apart from other apps and the server', () => {
    const db = openDatabase(':memory:');
    const apps = createAppStore(db);
    const [a, b] = [apps.create('a'), apps.create('b')];
    const events = new Events(createEventStore(db), pino({ level: 'silent' }), 3);
    for (let index = 1; index <= 5; index += 1) {
      events.record({ appId: a.id, app: 'a', kind: 'restart', message: `a ${index}` });
      events.record({ appId: null, app: null, kind: 'restart', message: `server ${index}` });
    }
    events.record({ appId: b.id, app: 'b', kind: 'restart', message: 'b 1' });
    assert.deepEqual(events.list({ appId: a.id }, { limit: 100 }).map((event) => event.message), ['a 3', 'a 4', 'a 5']);
    assert.deepEqual(events.list('all', { limit: 100 }).map((event) => event.message), ['a 3', 'server 3', 'a 4', 'server 4', 'a 5', 'server 5', 'b 1']);
    const after = events.list('all', { limit: 100 })[4]!.id;
    assert.deepEqual(events.list('all', { afterId: after, limit: 1 }).map((event) => event.message), ['b 1'], 'the newest `limit` after the id');
  });

  it('follows from a seen id: the ones recorded since first, then each new one of the scope, none twice', () => {
    const db = openDatabase(':memory:');
    const apps = createAppStore(db);
    const [a, b] = [apps.create('a'), apps.create('b')];
    const events = new Events(createEventStore(db), pino({ level: 'silent' }));
    assert.equal(events.newestId({ appId: a.id }), 0, 'no event yet');
    events.record({ appId: a.id, app: 'a', kind: 'restart', message: 'a 1' });
    const seen = events.newestId({ appId: a.id });
    events.record({ appId: b.id, app: 'b', kind: 'restart', message: 'b 1' });
    events.record({ appId: a.id, app: 'a', kind: 'restart', message: 'a 2' });
    assert.equal(events.newestId('all'), events.newestId({ appId: a.id }));
    const heard: string[] = [];
    const unfollow = events.followAfter({ appId: a.id }, seen, (event) => heard.push(event.message));
    events.record({ appId: a.id, app: 'a', kind: 'restart', message: 'a 3' });
    events.record({ appId: b.id, app: 'b', kind: 'restart', message: 'b 2' });
    unfollow();
    events.record({ appId: a.id, app: 'a', kind: 'restart', message: 'a 4' });
    assert.deepEqual(heard, ['a 2', 'a 3']);
    const fromNow: string[] = [];
    events.followAfter('all', 0, (event) => fromNow.push(event.message));
    events.record({ appId: null, app: null, kind: 'restart', message: 'server 1' });
    assert.deepEqual(fromNow, ['server 1'], 'after 0 is only what comes next');
  });

  it('API: a deploy token reads its app timeline only; the server-wide list is for admins', async (t) => {
    const { app, events, apps, deployToken } = await buildTestApp(t, { apps: ['a', 'b'] });
    events.record({ appId: apps.findByName('a')!.id, app: 'a', kind: 'deploy.succeeded', message: 'v1 is live', release: 1 });
    events.record({ appId: apps.findByName('b')!.id, app: 'b', kind: 'deploy.succeeded', message: 'v1 is live', release: 1 });
    const token = deployToken('a');
    const get = (url: string, bearer: string) => app.inject({ url, headers: { authorization: `Bearer ${bearer}` } });
    const own = await get('/api/v1/apps/a/events', token);
    assert.equal(own.statusCode, 200);
    assert.deepEqual(own.json().map((event: { app: string; kind: string }) => `${event.app} ${event.kind}`), ['a deploy.succeeded']);
    assert.equal((await get('/api/v1/apps/b/events', token)).statusCode, 403);
    assert.equal((await get('/api/v1/events', token)).statusCode, 403);
    assert.deepEqual((await get('/api/v1/events', TEST_ADMIN_TOKEN)).json().map((event: { app: string }) => event.app), ['a', 'b']);
    assert.equal((await get('/api/v1/events?limit=0', TEST_ADMIN_TOKEN)).statusCode, 400);
  });

  it('API stream: sends the stored events after ?after, then each new one of its app, none twice', async (t) => {
    const { app, events, apps } = await buildTestApp(t, { apps: ['a', 'b'] });
    const a = apps.findByName('a')!.id;
    events.record({ appId: a, app: 'a', kind: 'deploy.started', message: 'one', release: 1 });
    const first = events.list('all', { limit: 1 })[0]!.id;
    events.record({ appId: a, app: 'a', kind: 'deploy.succeeded', message: 'two', release: 1 });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = new WebSocket(`${address.replace(/^http/, 'ws')}/api/v1/apps/a/events/stream?after=${first}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    const received: string[] = [];
    const three = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        received.push((JSON.parse(data.toString()) as { message: string }).message);
        if (received.length === 1) {
          events.record({ appId: apps.findByName('b')!.id, app: 'b', kind: 'restart', message: 'of another app' });
          events.record({ appId: a, app: 'a', kind: 'restart', message: 'three' });
        }
        if (received.length === 2) resolve();
      }),
    );
    await three;
    socket.close();
    assert.deepEqual(received, ['two', 'three']);
  });
});
