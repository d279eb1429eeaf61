import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createTokenStore } from '../../../src/adapters/db/stores.js';
import { hashToken } from '../../../src/domain/tokens.js';
import { tokenAuthorization } from '../../../src/http/auth.js';
import { registerErrorHandler } from '../../../src/http/errors.js';
import { TokenService } from '../../../src/services/tokens.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';

interface Route {
  readonly method: string;
  readonly url: string;
}

/** Every route the app registered (HTTP and WebSocket, HEAD included), read from Fastify's own route tree. */
function registeredRoutes(app: FastifyInstance): Route[] {
  const parents: string[] = [];
  const routes: Route[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    parents.length = depth;
    const url = (parents[depth - 1] ?? '') + (match[2] as string);
    parents.push(url);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

const name = (route: Route) => `${route.method} ${route.url}`;

/** A URL of the route with its parameters filled: `:app` (and `:repo`, `<app>.git`) is `app`. */
function urlOf(route: Route, app: string): string {
  const values: Record<string, string> = { app, repo: `${app}.git`, version: '1', action: 'restart', domain: 'www.example.com', token: 'admin' };
  const url = route.url.replace(/:(\w+)/g, (_all, param: string) => values[param] ?? 'x');
  return route.url.endsWith('/info/refs') ? `${url}?service=git-receive-pack` : url;
}

async function call(app: FastifyInstance, route: Route, url: string, token: string | undefined) {
  const withBody = !['GET', 'HEAD'].includes(route.method);
  return app.inject({
    method: route.method as 'GET',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(withBody ? { 'content-type': 'application/json' } : {}) },
    ...(withBody ? { payload: '{}' } : {}),
  });
}

/** Routes outside any app that every valid token may call: what the token itself may do. */
const ANY_TOKEN = ['GET /api/v1/whoami', 'HEAD /api/v1/whoami'];
/** Routes that need no token at all. */
const PUBLIC = [
  'GET /health', 'HEAD /health', 'GET /ca.crt', 'HEAD /ca.crt', 'GET /api/v1/openapi.json', 'HEAD /api/v1/openapi.json',
  'GET /cli', 'HEAD /cli', 'GET /cli/install.sh', 'HEAD /cli/install.sh',
];
/** The dashboard's routes (src/http/dashboard/): a session cookie, not a token; enumerated in their own tests below. */
const isDashboard = (route: Route) => /^\/(|sign-in|sign-out|server|live|tokens(\/.*)?|apps\/.*|\*)$/.test(route.url);
/** Dashboard routes open without a session: the sign-in form, and its CSS and script (/assets/*, which printRoutes shows as /*). */
const DASHBOARD_PUBLIC = ['GET /sign-in', 'HEAD /sign-in', 'POST /sign-in', 'GET /*', 'HEAD /*'];

/** What a deploy token may do on its own app: push (git) and read. */
/** Routes that take no token but a signature of their body by the app's secret (a wrong or missing one is 401 too). */
const SIGNED = ['POST /api/v1/apps/:app/hooks/push'];
const OWN_APP = [
  '/api/v1/apps/:app', '/api/v1/apps/:app/deploy', '/api/v1/apps/:app/releases', '/api/v1/apps/:app/releases/:version',
  '/api/v1/apps/:app/ps', '/api/v1/apps/:app/logs', '/api/v1/apps/:app/logs/stream', '/api/v1/apps/:app/cron', '/api/v1/apps/:app/cron/runs',
  '/api/v1/apps/:app/certs', '/api/v1/apps/:app/metrics', '/api/v1/apps/:app/events', '/api/v1/apps/:app/events/stream',
  '/api/v1/apps/:app/previews', '/api/v1/apps/:app/repo',
].flatMap((url) => [`GET ${url}`, `HEAD ${url}`]).concat([
  'DELETE /api/v1/apps/:app/previews', 'POST /api/v1/apps/:app/deploys', 'POST /api/v1/apps/:app/deploys/image', 'POST /api/v1/apps/:app/deploys/image-archive', 'POST /api/v1/apps/:app/repo/sync',
  'GET /:repo/info/refs', 'HEAD /:repo/info/refs', 'POST /:repo/git-upload-pack', 'POST /:repo/git-receive-pack']);

describe('access to every route of the control plane (buildApp with fakes)', () => {
  it('finds every route, HTTP and WebSocket', async (t) => {
    const { app } = await buildTestApp(t);
    const routes = registeredRoutes(app).map(name);
    for (const expected of ['GET /api/v1/apps/:app/run', 'GET /api/v1/apps/:app/logs/stream', 'POST /api/v1/apps/:app/ps/scale', 'DELETE /api/v1/tokens/:token', 'POST /:repo/git-receive-pack', 'GET /health']) {
      assert.ok(routes.includes(expected), `${expected} in ${routes.join(', ')}`);
    }
    assert.ok(routes.length > 50, `${routes.length} routes`);
  });

  it('answers 401 without a token on every route but the public ones', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['a'] });
    const open: string[] = [];
    for (const route of registeredRoutes(app).filter((route) => !isDashboard(route))) {
      const answer = await call(app, route, urlOf(route, 'a'), undefined);
      if (answer.statusCode !== 401) open.push(name(route));
    }
    assert.deepEqual(open.sort(), [...PUBLIC].sort());
    assert.deepEqual(reached, { git: [], services: [] });
  });

  it("refuses a deploy token of app a with 403 or 404 on every route outside a's, never reaching a service", async (t) => {
    const { app, deployToken, reached } = await buildTestApp(t, { apps: ['a', 'b'] });
    const token = deployToken('a');
    const answered: string[] = [];
    for (const route of registeredRoutes(app)) {
      if (PUBLIC.includes(name(route)) || ANY_TOKEN.includes(name(route)) || isDashboard(route)) continue;
      if (SIGNED.includes(name(route))) {
        const answer = await call(app, route, urlOf(route, 'b'), token);
        assert.equal(answer.statusCode, 401, `${name(route)} takes no token, only a signature: ${answer.body}`);
        continue;
      }
      // App b's routes (or those of no app), and a's own routes beyond what a deploy token may do.
      const perApp = route.url.includes(':app') || route.url.includes(':repo');
      const urls = perApp ? [urlOf(route, 'b'), ...(OWN_APP.includes(name(route)) ? [] : [urlOf(route, 'a')])] : [urlOf(route, 'a')];
      for (const url of urls) {
        const answer = await call(app, route, url, token);
        answered.push(`${route.method} ${url} ${answer.statusCode}`);
        if (route.url === '/:repo/info/refs' && route.method === 'GET') {
          // git shows a refusal of info/refs only as an ERR packet in a 200 answer ("remote error: ...").
          assert.match(answer.body, /^[0-9a-f]{4}# service=git-receive-pack\n0000[0-9a-f]{4}ERR this token may not access the app "b"\n$/, url);
          continue;
        }
        assert.ok([403, 404].includes(answer.statusCode), `${route.method} ${url} answered ${answer.statusCode}: ${answer.body}`);
        if (route.method !== 'HEAD') assert.match(answer.json<{ message: string }>().message, /needs an admin token|may not access the app "b"/, `${route.method} ${url}`);
      }
      if (route.method === 'GET') {
        // The same route asked for as a WebSocket: refused before the upgrade (the client's address is the rate limit's key).
        const upgrade = app.injectWS(urls[0] as string, { headers: { authorization: `Bearer ${token}` }, socket: { remoteAddress: '127.0.0.1' } } as never);
        if (route.url === '/:repo/info/refs') {
          // Git checks tokens in its handler, where @fastify/websocket closes an upgrade to a route without a WebSocket handler at once.
          const socket = await upgrade;
          const messages: unknown[] = [];
          socket.on('message', (message) => messages.push(message));
          await new Promise((resolve) => socket.on('close', resolve));
          assert.deepEqual(messages, [], 'closed without a word');
        } else {
          await assert.rejects(upgrade, /Unexpected server response: 40[34]/, urls[0]);
        }
      }
    }
    assert.ok(answered.length > 60, answered.join('\n'));
    assert.deepEqual(reached, { git: [], services: [] }, 'no refused request reached git or a service');
  });

  it('sends every dashboard page to the sign-in form without a session, and refuses every other dashboard request', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['a'] });
    const dashboard = registeredRoutes(app).filter(isDashboard);
    assert.ok(dashboard.length > 20, dashboard.map(name).join(', '));
    for (const route of dashboard) {
      if (DASHBOARD_PUBLIC.includes(name(route))) continue;
      const answer = await call(app, route, urlOf(route, 'a'), TEST_ADMIN_TOKEN);
      const expected = route.method === 'GET' || route.method === 'HEAD' ? 303 : 401;
      assert.equal(answer.statusCode, expected, `${name(route)} with a token but no session: ${answer.body}`);
    }
    assert.deepEqual(reached, { git: [], services: [] });
  });

  it("refuses a deploy token's dashboard session every other app's route, and every change of its own", async (t) => {
    const { app, deployToken, reached } = await buildTestApp(t, { apps: ['a', 'b'] });
    const form = await app.inject({ method: 'GET', url: '/sign-in' });
    const signInCookie = form.cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
    const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const signedIn = await app.inject({ method: 'POST', url: '/sign-in', headers: { cookie: signInCookie }, payload: { token: deployToken('a'), _csrf: csrfOf(form.body) } });
    const cookie = signedIn.cookies.map((entry) => `${entry.name}=${entry.value}`).join('; ');
    const page = await app.inject({ method: 'GET', url: '/apps/a/releases/1', headers: { cookie } });
    assert.equal(page.statusCode, 404, 'its own app is open to it');
    const readsOfItsApp = ['GET /apps/:app', 'GET /apps/:app/releases/:version', 'GET /apps/:app/live', 'GET /apps/:app/logs/live', 'GET /', 'POST /sign-out'];
    for (const route of registeredRoutes(app).filter(isDashboard)) {
      if (DASHBOARD_PUBLIC.includes(name(route)) || route.method === 'HEAD') continue;
      const urls = route.url.includes(':app') ? [urlOf(route, 'b'), ...(readsOfItsApp.includes(name(route)) ? [] : [urlOf(route, 'a')])] : readsOfItsApp.includes(name(route)) ? [] : [urlOf(route, 'a')];
      for (const url of urls) {
        const answer = await app.inject({ method: route.method as 'GET', url, headers: { cookie }, ...(route.method === 'POST' ? { payload: { _csrf: 'x' } } : {}) });
        assert.equal(answer.statusCode, 403, `${route.method} ${url}: ${answer.statusCode}`);
      }
    }
    assert.deepEqual(reached.services, []);
  });

  it('lets any token ask what it may do, and nothing else outside its app', async (t) => {
    const { app, deployToken } = await buildTestApp(t, { apps: ['a', 'b'] });
    const answer = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { authorization: `Bearer ${deployToken('a')}` } });
    assert.deepEqual(answer.json(), { scope: 'app', app: 'a' });
  });

  it('lets the deploy token of a read its own app', async (t) => {
    const { app, deployToken, reached } = await buildTestApp(t, { apps: ['a', 'b'] });
    const token = deployToken('a');
    for (const url of ['/api/v1/apps/a/ps', '/api/v1/apps/a/logs', '/api/v1/whoami', '/api/v1/apps/a/deploy']) {
      const answer = await call(app, { method: 'GET', url }, url, token);
      assert.ok(answer.statusCode !== 401 && answer.statusCode !== 403, `${url}: ${answer.statusCode} ${answer.body}`);
    }
    assert.deepEqual(reached.services, ['processes.list', 'logs.tail', 'deployer.isDeploying']);
  });

  it("lets the deploy token of a act on a's previews as on a, and no other app's token", async (t) => {
    const { app, deployToken, reached, apps, previews } = await buildTestApp(t, { apps: ['a', 'b', 'a--x', 'b--y'] });
    for (const [preview, parent] of [['a--x', 'a'], ['b--y', 'b']] as const) {
      previews.add({ appId: (apps.findByName(preview) as { id: number }).id, parentId: (apps.findByName(parent) as { id: number }).id, branch: preview.slice(3) });
    }
    const token = deployToken('a');
    const allowed = [
      ['GET', '/api/v1/apps/a/previews'],
      ['DELETE', '/api/v1/apps/a/previews?branch=x'],
      ['GET', '/api/v1/apps/a--x/ps'],
      ['GET', '/api/v1/apps/a--x/logs'],
    ] as const;
    for (const [method, url] of allowed) {
      const answer = await call(app, { method, url }, url, token);
      assert.ok(![401, 403].includes(answer.statusCode), `${method} ${url}: ${answer.statusCode} ${answer.body}`);
    }
    assert.deepEqual(reached.services, ['previews.list', 'previews.destroy', 'processes.list', 'logs.tail']);
    // What only an admin may do on a stays so on its previews; another app's previews stay out of reach.
    const refused = [
      ['PATCH', '/api/v1/apps/a/previews', /needs an admin token/],
      ['PATCH', '/api/v1/apps/a/previews/config', /needs an admin token/],
      ['PATCH', '/api/v1/apps/a--x/config', /needs an admin token/],
      ['DELETE', '/api/v1/apps/a--x', /needs an admin token/],
      ['GET', '/api/v1/apps/b--y/ps', /may not access the app "b--y"/],
      ['GET', '/api/v1/apps/b/previews', /may not access the app "b"/],
    ] as const;
    for (const [method, url, message] of refused) {
      const answer = await call(app, { method, url }, url, token);
      assert.equal(answer.statusCode, 403, `${method} ${url}: ${answer.body}`);
      assert.match(answer.json<{ message: string }>().message, message);
    }
    const other = await call(app, { method: 'GET', url: '/api/v1/apps/a--x/ps' }, '/api/v1/apps/a--x/ps', deployToken('b'));
    assert.equal(other.statusCode, 403);
    assert.equal(reached.services.length, 4, 'no refused request reached a service');
  });

  it('authenticates before reading a body: a body that is not JSON is 401 or 403, not 400', async (t) => {
    const { app, deployToken } = await buildTestApp(t, { apps: ['a'] });
    const send = (token: string | undefined) =>
      app.inject({ method: 'PATCH', url: '/api/v1/apps/a/config', payload: '{not json', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    assert.equal((await send(undefined)).statusCode, 401);
    const refused = await send(deployToken('a'));
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(refused.json(), { error: 'PILOT_FORBIDDEN', message: 'this needs an admin token; a deploy token may only push and read its app' });
    assert.equal((await send(TEST_ADMIN_TOKEN)).statusCode, 400, 'an admin token gets to the body, which is refused');
  });
});

describe('tokenAuthorization (default deny)', () => {
  async function guarded(t: { after(fn: () => Promise<unknown>): void }, register: (api: FastifyInstance) => void) {
    const db = openDatabase(':memory:');
    const apps = createAppStore(db);
    const tokenStore = createTokenStore(db);
    tokenStore.ensureAdminToken('admin', hashToken(TEST_ADMIN_TOKEN), TEST_ADMIN_TOKEN.slice(0, 12));
    apps.create('a');
    const server = Fastify();
    registerErrorHandler(server);
    await server.register(async (api) => {
      await api.register(tokenAuthorization, { tokens: tokenStore, appId: (appName) => apps.findByName(appName)?.id });
      register(api);
    });
    t.after(async () => {
      await server.close();
      db.close();
    });
    return { server, deployToken: new TokenService(tokenStore, apps).create({ name: 'ci', app: 'a' }).token };
  }

  it('makes a route that declares nothing admin-only, even on the deploy token\'s own app', async (t) => {
    const { server, deployToken } = await guarded(t, (api) => {
      api.get('/undeclared/:app', async () => ({ ok: true }));
      api.get('/declared/:app', { config: { access: 'app' } }, async () => ({ ok: true }));
    });
    const get = (url: string, token: string) => server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    assert.equal((await get('/undeclared/a', TEST_ADMIN_TOKEN)).statusCode, 200);
    const refused = await get('/undeclared/a', deployToken);
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json<{ message: string }>().message, /needs an admin token/);
    assert.equal((await get('/declared/a', deployToken)).statusCode, 200);
    assert.equal((await get('/declared/b', deployToken)).statusCode, 403);
  });

  it('refuses, at registration, an access it does not know or an app access without :app', async (t) => {
    await assert.rejects(
      guarded(t, (api) => void api.get('/x', { config: { access: 'apps' as 'app' } }, async () => 'x')),
      /route \/x declares access "apps"; use one of admin, app, any-token/,
    );
    await assert.rejects(guarded(t, (api) => void api.get('/apps', { config: { access: 'app' } }, async () => 'x')), /has no :app parameter/);
  });
});
