import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { integrationSkipReason } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/** The REST API through app.inject, on a real server (real SQLite, Docker and Caddy behind it). */
describe('REST API /api/v1', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, options: { token?: string | null; body?: unknown; ip?: string } = {}) {
    const token = options.token === undefined ? pilot.token : options.token;
    return pilot.server.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
      ...(options.ip ? { remoteAddress: options.ip } : {}),
    });
  }

  it('refuses requests without a token or with a wrong one, as JSON errors', async () => {
    const missing = await call('GET', '/apps', { token: null });
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.json().error, 'PILOT_UNAUTHORIZED');
    const wrong = await call('GET', '/apps', { token: 'pilot_not-a-token' });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.json().message, /not valid/);
  });

  it('creates, lists and shows apps, refusing bad and duplicate names', async () => {
    const created = await call('POST', '/apps', { body: { name: 'shop' } });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().name, 'shop');
    assert.equal(created.json().release, null);
    assert.match(created.json().url, /^https:\/\/shop\.localhost:\d+$/);

    const bad = await call('POST', '/apps', { body: { name: 'Bad_Name' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /invalid app name "Bad_Name"/);
    const duplicate = await call('POST', '/apps', { body: { name: 'shop' } });
    assert.equal(duplicate.statusCode, 409);

    const list = await call('GET', '/apps');
    assert.deepEqual(list.json().map((app: { name: string }) => app.name), ['shop']);
    const missing = await call('GET', '/apps/nope');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json().message, /no app named "nope"/);
  });

  it('keeps config of an app that does not run yet for its first deploy, and validates names', async () => {
    const set = await call('PATCH', '/apps/shop/config', { body: { set: { GREETING: 'hi', DATABASE_URL: 'postgres://db/shop' } } });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json().release, null);
    const unset = await call('PATCH', '/apps/shop/config', { body: { unset: ['DATABASE_URL'] } });
    assert.deepEqual(unset.json().config, { GREETING: 'hi' });
    assert.deepEqual((await call('GET', '/apps/shop/config')).json().config, { GREETING: 'hi' });
    const badKey = await call('PATCH', '/apps/shop/config', { body: { set: { 'NOT-A-NAME': 'x' } } });
    assert.equal(badKey.statusCode, 400);
    assert.match(badKey.json().message, /invalid config var name "NOT-A-NAME"/);
    const port = await call('PATCH', '/apps/shop/config', { body: { set: { PORT: '80' } } });
    assert.equal(port.statusCode, 400);
    assert.match(port.json().message, /PORT is set by Pilot/);
    const notString = await call('PATCH', '/apps/shop/config', { body: { set: { A: { nested: true } } } });
    assert.equal(notString.statusCode, 400);
  });

  it('adds and removes custom domains, validated as host names and owned by one app', async () => {
    const added = await call('POST', '/apps/shop/domains', { body: { domain: 'WWW.Shop.Example' } });
    assert.equal(added.statusCode, 201, added.body);
    assert.deepEqual(added.json().domains, ['www.shop.example']);
    assert.equal((await call('POST', '/apps', { body: { name: 'blog' } })).statusCode, 201);
    const taken = await call('POST', '/apps/blog/domains', { body: { domain: 'www.shop.example' } });
    assert.equal(taken.statusCode, 409);
    for (const domain of ['not a domain', 'localhost', '10.0.0.1', 'x.localhost', '-bad.example.com']) {
      const refused = await call('POST', '/apps/blog/domains', { body: { domain } });
      assert.equal(refused.statusCode, 400, `${domain} should be refused: ${refused.body}`);
    }
    const removed = await call('DELETE', '/apps/shop/domains/www.shop.example');
    assert.deepEqual(removed.json().domains, []);
    assert.equal((await call('DELETE', '/apps/shop/domains/www.shop.example')).statusCode, 404);
  });

  it('answers releases, rollback and processes of an app that never deployed with clear errors', async () => {
    assert.deepEqual((await call('GET', '/apps/shop/releases')).json(), []);
    const rollback = await call('POST', '/apps/shop/rollback', { body: {} });
    assert.equal(rollback.statusCode, 409);
    assert.match(rollback.json().message, /no live release to roll back from/);
    const release = await call('GET', '/apps/shop/releases/v3');
    assert.equal(release.statusCode, 404);
    assert.match(release.json().message, /shop has no release v3/);
    assert.deepEqual((await call('GET', '/apps/shop/ps')).json(), []);
    const restart = await call('POST', '/apps/shop/ps/restart');
    assert.equal(restart.statusCode, 409);
    assert.deepEqual((await call('GET', '/apps/shop/logs?lines=5')).json(), { lines: [] });
    assert.deepEqual((await call('GET', '/apps/shop/deploy')).json(), { deploying: false, latest: null });
  });

  it('scopes deploy tokens to their app: 403 elsewhere and on admin routes, shown once, revocable', async () => {
    const created = await call('POST', '/tokens', { body: { name: 'ci', app: 'shop' } });
    assert.equal(created.statusCode, 201, created.body);
    const deployToken: string = created.json().token;
    assert.match(deployToken, /^pilot_[A-Za-z0-9_-]{43}$/, 'a token of 256 random bits');
    assert.equal(created.json().scope, 'app');
    assert.equal(created.json().app, 'shop');

    assert.equal((await call('GET', '/apps/shop', { token: deployToken })).statusCode, 200);
    assert.equal((await call('GET', '/apps/shop/releases', { token: deployToken })).statusCode, 200);
    assert.deepEqual((await call('GET', '/whoami', { token: deployToken })).json(), { scope: 'app', app: 'shop' });
    for (const [method, url] of [['GET', '/apps/blog'], ['GET', '/apps/blog/releases'], ['GET', '/apps/nope'], ['GET', '/apps'], ['GET', '/apps/shop/config'], ['GET', '/tokens'], ['POST', '/apps/shop/ps/stop']] as const) {
      const refused = await call(method, url, { token: deployToken });
      assert.equal(refused.statusCode, 403, `${method} ${url}: ${refused.body}`);
    }

    const listed = (await call('GET', '/tokens')).json() as { id: number; name: string; prefix: string; scope: string; lastUsedAt: string | null }[];
    const ci = listed.find((token) => token.name === 'ci');
    assert.ok(ci?.lastUsedAt, 'last use is recorded');
    assert.equal(ci?.prefix, deployToken.slice(0, 12));
    assert.ok(!JSON.stringify(listed).includes(deployToken), 'listings never show a secret');

    const revoked = await call('DELETE', '/tokens/ci');
    assert.equal(revoked.json().revoked.length, 1);
    assert.equal((await call('GET', '/apps/shop', { token: deployToken })).statusCode, 401);
    const lastAdmin = await call('DELETE', `/tokens/${listed.find((token) => token.scope === 'admin')?.id}`);
    assert.equal(lastAdmin.statusCode, 400);
    assert.match(lastAdmin.json().message, /last admin token/);
  });

  it('slows down repeated failed authentications from one address, never a valid token', async () => {
    const ip = '10.9.8.7';
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt += 1) statuses.push((await call('GET', '/apps', { token: `pilot_guess${attempt}`, ip })).statusCode);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.equal(statuses[11], 429);
    const limited = await call('GET', '/apps', { token: 'pilot_guess', ip });
    assert.match(limited.json().message, /too many failed authentications from 10\.9\.8\.7/);
    assert.equal((await call('GET', '/apps', { ip })).statusCode, 200, 'the admin token still works from that address');
    assert.equal((await call('GET', '/apps', { token: 'pilot_guess' })).statusCode, 401, 'other addresses are not limited');
  });

  it('serves an OpenAPI document that describes every route', async () => {
    const response = await pilot.server.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(response.statusCode, 200);
    const document = response.json() as { openapi: string; paths: Record<string, Record<string, { summary?: string }>> };
    assert.match(document.openapi, /^3\./);
    for (const path of ['/api/v1/apps', '/api/v1/apps/{app}/config', '/api/v1/apps/{app}/rollback', '/api/v1/apps/{app}/logs/stream', '/api/v1/tokens']) {
      assert.ok(document.paths[path], `${path} is documented`);
    }
    const undocumented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).filter(([, operation]) => !operation.summary).map(([method]) => `${method} ${path}`),
    );
    assert.deepEqual(undocumented.filter((route) => route.includes('/api/v1/')), []);
  });

  it('destroys an app only when its name is confirmed', async () => {
    const unconfirmed = await call('DELETE', '/apps/blog');
    assert.equal(unconfirmed.statusCode, 400);
    assert.match(unconfirmed.json().message, /repeat its name in \?confirm=blog/);
    const destroyed = await call('DELETE', '/apps/blog?confirm=blog');
    assert.equal(destroyed.statusCode, 200, destroyed.body);
    assert.equal((await call('GET', '/apps/blog')).statusCode, 404);
  });
});
