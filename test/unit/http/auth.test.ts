import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';

async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'DELETE', url: string, authorization?: string, body?: unknown, remoteAddress = '127.0.0.1') {
  const answer = await app.inject({
    method,
    url,
    remoteAddress,
    headers: { ...(authorization ? { authorization } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: answer.statusCode, body: answer.json<Record<string, unknown>>() };
}

const bearer = (token: string) => `Bearer ${token}`;

describe('API authentication (buildApp with fakes)', () => {
  it('refuses a request without a token, with a wrong one or with a revoked one, with a 401 that says which', async (t) => {
    const { app, reached, tokens } = await buildTestApp(t, { apps: ['a'] });
    const revoked = tokens.create({ name: 'old ci', app: 'a' }).token;
    const revoke = await call(app, 'DELETE', '/api/v1/tokens/old%20ci', bearer(TEST_ADMIN_TOKEN));
    assert.equal(revoke.status, 200, JSON.stringify(revoke.body));
    const refusals: [string, string | undefined, string][] = [
      ['no token', undefined, 'authentication required: send a Pilot token'],
      ['an empty bearer', 'Bearer ', 'authentication required: send a Pilot token'],
      ['another scheme', `Token ${TEST_ADMIN_TOKEN}`, 'authentication required: send a Pilot token'],
      ['a wrong token', bearer('pilot_not-a-token'), 'the token is not valid (wrong, revoked or mistyped)'],
      ['the admin token with a character changed', bearer(`${TEST_ADMIN_TOKEN.slice(0, -1)}X`), 'the token is not valid (wrong, revoked or mistyped)'],
      ['a revoked token', bearer(revoked), 'the token is not valid (wrong, revoked or mistyped)'],
    ];
    for (const [index, [what, authorization, message]] of refusals.entries()) {
      for (const [method, url, body] of [['GET', '/api/v1/apps/a'], ['POST', '/api/v1/apps/a/ps/scale', { web: 0 }], ['GET', '/api/v1/whoami']] as const) {
        // One client address per kind of refusal: the limit of failed authentications per address is tested elsewhere.
        const answer = await call(app, method, url, authorization, body, `10.0.0.${index + 1}`);
        assert.equal(answer.status, 401, `${what} on ${method} ${url}`);
        assert.deepEqual(answer.body, { error: 'PILOT_UNAUTHORIZED', message }, `${what} on ${method} ${url}`);
      }
    }
    assert.deepEqual(reached.services, []);
  });

  it('takes the token as a bearer or as the password of Basic authentication (what git sends)', async (t) => {
    const { app } = await buildTestApp(t);
    const basic = `Basic ${Buffer.from(`pilot:${TEST_ADMIN_TOKEN}`).toString('base64')}`;
    for (const authorization of [bearer(TEST_ADMIN_TOKEN), `bearer ${TEST_ADMIN_TOKEN}`, basic]) {
      assert.deepEqual((await call(app, 'GET', '/api/v1/whoami', authorization)).body, { scope: 'admin', app: null }, authorization);
    }
  });
});

describe('API scopes (buildApp with fakes)', () => {
  it('lets a deploy token read its own app, and refuses it everything else with a 403 that says why', async (t) => {
    const { app, deployToken, reached } = await buildTestApp(t, { apps: ['a', 'b'] });
    const token = bearer(deployToken('a'));
    const own = await call(app, 'GET', '/api/v1/apps/a/releases', token);
    assert.deepEqual([own.status, own.body], [200, []]);
    const otherApp = 'this token may not access the app';
    const adminOnly = 'this needs an admin token; a deploy token may only push and read its app';
    const refused: [method: 'GET' | 'POST' | 'DELETE', url: string, body: unknown, message: string][] = [
      ['GET', '/api/v1/apps/b/releases', undefined, `${otherApp} "b"`],
      ['GET', '/api/v1/apps/nothing/releases', undefined, `${otherApp} "nothing"`],
      ['GET', '/api/v1/apps/b', undefined, `${otherApp} "b"`],
      ['POST', '/api/v1/apps/a/ps/scale', { web: 0 }, adminOnly],
      ['POST', '/api/v1/apps/a/rollback', {}, adminOnly],
      ['GET', '/api/v1/apps/a/config', undefined, adminOnly],
      ['GET', '/api/v1/apps', undefined, adminOnly],
      ['POST', '/api/v1/apps', { name: 'c' }, adminOnly],
      ['GET', '/api/v1/tokens', undefined, adminOnly],
      ['POST', '/api/v1/tokens', { name: 'mine' }, adminOnly],
      ['DELETE', '/api/v1/tokens/admin', undefined, adminOnly],
    ];
    for (const [method, url, body, message] of refused) {
      const answer = await call(app, method, url, token, body);
      assert.deepEqual([answer.status, answer.body], [403, { error: 'PILOT_FORBIDDEN', message }], `${method} ${url}`);
    }
    // A wrong body from a deploy token is refused for the token, not for the body: it learns nothing of the route.
    const wrongBody = await call(app, 'POST', '/api/v1/apps/a/ps/scale', token, { web: null });
    assert.deepEqual([wrongBody.status, wrongBody.body.error], [403, 'PILOT_FORBIDDEN']);
    assert.deepEqual(reached.services, []);
  });

  it('lets an admin token call every app and the admin routes', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['a', 'b'] });
    const admin = bearer(TEST_ADMIN_TOKEN);
    assert.deepEqual((await call(app, 'GET', '/api/v1/apps/b/releases', admin)).body, []);
    const created = await call(app, 'POST', '/api/v1/tokens', admin, { name: 'ci', app: 'b' });
    assert.equal(created.status, 201);
    assert.deepEqual({ scope: created.body.scope, app: created.body.app }, { scope: 'app', app: 'b' });
    const listed = await call(app, 'GET', '/api/v1/tokens', admin);
    assert.deepEqual((listed.body as unknown as { name: string }[]).map((token) => token.name), ['admin', 'ci']);
    assert.deepEqual(reached.services, []);
  });
});
