import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createWebhookStore } from '../../../src/adapters/db/stores.js';
import { Notifier } from '../../../src/services/notifier.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';
import { buildCore } from '../../helpers/core.js';
import { waitFor } from '../../helpers/integration.js';

interface Received {
  readonly body: string;
  readonly signature: string | undefined;
}

/** A real HTTP receiver on port 0: answers each request with the next status of `statuses` (then 200), or never when `hang`. */
async function receiver(t: { after(fn: () => Promise<unknown>): void }, options: { statuses?: number[]; hang?: boolean } = {}) {
  const received: Received[] = [];
  const statuses = [...(options.statuses ?? [])];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ body, signature: request.headers['x-pilot-signature-256'] as string | undefined });
      if (options.hang) return;
      response.statusCode = statuses.shift() ?? 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

// Fast retries; a timeout no loaded machine reaches: a try cut by it would be delivered twice (the receiver got the first).
const FAST = { attempts: 4, firstRetryMs: 10, timeoutMs: 10_000 };

function coreWithNotifier() {
  const core = buildCore();
  const notifier = new Notifier(createWebhookStore(core.db), core.logger, FAST);
  notifier.start(core.events);
  return { core, notifier };
}

describe('Notifier (real local HTTP receivers)', () => {
  it('posts the events a webhook chose as signed JSON with a Slack-compatible text, retrying a failing receiver', async (t) => {
    const hook = await receiver(t, { statuses: [500, 503] });
    const { core, notifier } = coreWithNotifier();
    const shop = core.apps.create('shop');
    const { secret } = notifier.add(shop.id, { url: hook.url, events: ['deploy.succeeded', 'deploy.failed'] });
    await core.push('shop');
    await notifier.settle();
    assert.equal(hook.received.length, 3, 'two failed tries, then the delivery');
    const payloads = hook.received.map((delivery) => JSON.parse(delivery.body) as { kind: string; app: string; text: string; release: number });
    assert.deepEqual(new Set(payloads.map((payload) => payload.kind)), new Set(['deploy.succeeded']), 'deploy.started was not chosen');
    assert.equal(payloads[0]!.app, 'shop');
    assert.equal(payloads[0]!.text, 'shop: v1 is live (deploy.succeeded)');
    for (const delivery of hook.received) {
      assert.equal(delivery.signature, `sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`);
    }
    notifier.stop();
  });

  it('sends server-wide webhooks every app\'s events, an app\'s webhook only its own', async (t) => {
    const [everything, shopOnly] = [await receiver(t), await receiver(t)];
    const { core, notifier } = coreWithNotifier();
    const shop = core.apps.create('shop');
    core.apps.create('blog');
    notifier.add(null, { url: everything.url, events: ['deploy.succeeded'] });
    notifier.add(shop.id, { url: shopOnly.url, events: ['deploy.succeeded'] });
    await core.push('shop');
    await core.push('blog');
    await notifier.settle();
    assert.deepEqual(everything.received.map((delivery) => (JSON.parse(delivery.body) as { app: string }).app), ['shop', 'blog']);
    assert.deepEqual(shopOnly.received.map((delivery) => (JSON.parse(delivery.body) as { app: string }).app), ['shop']);
    notifier.stop();
  });

  it('a receiver that never answers does not slow a deploy: the push ends while the delivery still waits', async (t) => {
    const hook = await receiver(t, { hang: true });
    const core = buildCore();
    // One try that would wait a minute for its answer: the deploy must not.
    const notifier = new Notifier(createWebhookStore(core.db), core.logger, { attempts: 1, firstRetryMs: 10, timeoutMs: 60_000 });
    notifier.start(core.events);
    const shop = core.apps.create('shop');
    notifier.add(shop.id, { url: hook.url, events: ['deploy.started'] });
    const { live } = await core.push('shop');
    assert.equal(live, true);
    await waitFor('the delivery to reach the receiver', async () => (hook.received.length > 0 ? true : undefined));
    assert.equal(hook.received.length, 1, 'the receiver holds the one delivery, unanswered');
    notifier.stop();
  });

  it('API: refuses a URL that is no http(s) and an unknown event kind; the secret is shown once; admin only', async (t) => {
    const { app, deployToken } = await buildTestApp(t, { apps: ['shop'] });
    const post = (url: string, payload: object, token = TEST_ADMIN_TOKEN) =>
      app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${token}` } });
    const refusedScheme = await post('/api/v1/webhooks', { url: 'file:///etc/passwd' });
    assert.equal(refusedScheme.statusCode, 400);
    assert.match(refusedScheme.json().message, /file: URLs cannot receive webhooks/);
    assert.equal((await post('/api/v1/apps/shop/webhooks', { url: 'https://example.com/x', events: ['deploy.exploded'] })).statusCode, 400);
    assert.equal((await post('/api/v1/apps/shop/webhooks', { url: 'https://example.com/x' }, deployToken('shop'))).statusCode, 403);
    const created = await post('/api/v1/apps/shop/webhooks', { url: 'https://example.com/x', events: ['rollback'] });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().secret.length, 64);
    const listed = await app.inject({ url: '/api/v1/apps/shop/webhooks', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    assert.deepEqual(listed.json().map((webhook: object) => ({ ...webhook, createdAt: 'x' })), [{ id: created.json().id, app: 'shop', url: 'https://example.com/x', events: ['rollback'], createdAt: 'x' }]);
    assert.ok(!('secret' in listed.json()[0]), 'the list never shows the secret');
    const removed = await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${created.json().id}`, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    assert.equal(removed.statusCode, 404, "an app's webhook is not removed as a server-wide one");
  });
});
