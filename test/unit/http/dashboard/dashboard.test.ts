import { describe, it } from 'node:test';
import WebSocket from 'ws';
import assert from 'node:assert/strict';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../../helpers/api.js';
import { goLive } from '../../../helpers/releases.js';
import type { ApiDeps } from '../../../../src/http/api/context.js';
import type { App, Release } from '../../../../src/domain/types.js';
import type { AppChange } from '../../../../src/pipeline/deploy.js';

type TestApp = Awaited<ReturnType<typeof buildTestApp>>['app'];

/** The cookies an answer sets, as a Cookie header would send them back. */
function cookiesOf(answer: { cookies: { name: string; value: string }[] }, previous = ''): string {
  const jar = new Map(previous.split('; ').filter(Boolean).map((pair) => pair.split('=', 2) as [string, string]));
  for (const cookie of answer.cookies) jar.set(cookie.name, cookie.value);
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function signIn(app: TestApp, token: string) {
  const form = await app.inject({ method: 'GET', url: '/sign-in' });
  let cookie = cookiesOf(form);
  const answer = await app.inject({ method: 'POST', url: '/sign-in', headers: { cookie }, payload: { token, _csrf: csrfOf(form.body) } });
  cookie = cookiesOf(answer, cookie);
  return { answer, cookie };
}

describe('dashboard sessions (buildApp with fakes)', () => {
  it('sends a visitor without a session to the sign-in form, and signs a valid token in with an HttpOnly SameSite=Strict cookie', async (t) => {
    const { app } = await buildTestApp(t, { apps: ['a'] });
    const home = await app.inject({ method: 'GET', url: '/' });
    assert.equal(home.statusCode, 303);
    assert.equal(home.headers.location, '/sign-in');
    const { answer } = await signIn(app, TEST_ADMIN_TOKEN);
    assert.equal(answer.statusCode, 303, answer.body);
    const session = answer.cookies.find((cookie) => cookie.name === 'pilot_session');
    assert.ok(session, JSON.stringify(answer.cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(session.expires && session.expires.getTime() > Date.now());
  });

  it('refuses a wrong token and limits failed sign-ins per address', async (t) => {
    const { app } = await buildTestApp(t);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt += 1) statuses.push((await signIn(app, 'pilot_wrong')).answer.statusCode);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.equal(statuses.at(-1), 429);
  });

  it('refuses a form without its CSRF token, changing nothing', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['a'] });
    const { cookie } = await signIn(app, TEST_ADMIN_TOKEN);
    const refused = await app.inject({ method: 'POST', url: '/apps/a/scale', headers: { cookie }, payload: { type: 'web', quantity: '2' } });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /CSRF token is missing or wrong/);
    assert.deepEqual(reached.services, []);
  });

  it("ends a session when its token is revoked", async (t) => {
    const { app, deployToken } = await buildTestApp(t, { apps: ['a'] });
    const token = deployToken('a');
    const { cookie, answer } = await signIn(app, token);
    assert.equal(answer.headers.location, '/apps/a');
    const revoke = await app.inject({ method: 'DELETE', url: '/api/v1/tokens/ci-a', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    assert.equal(revoke.statusCode, 200, revoke.body);
    const after = await app.inject({ method: 'GET', url: '/apps/a/releases/1', headers: { cookie } });
    assert.equal(after.statusCode, 303);
    assert.equal(after.headers.location, '/sign-in');
  });

  it("keeps a deploy token's session to its own app: another app's pages and every change are refused", async (t) => {
    const { app, deployToken, reached } = await buildTestApp(t, { apps: ['a', 'b'] });
    const { cookie } = await signIn(app, deployToken('a'));
    const page = await app.inject({ method: 'GET', url: '/apps/a/releases/1', headers: { cookie } });
    const csrf = csrfOf((await app.inject({ method: 'GET', url: '/sign-in', headers: { cookie } })).body);
    assert.equal(page.statusCode, 404, 'its own app: no v1, but allowed');
    for (const url of ['/apps/b', '/server', '/apps/b/releases/1']) {
      assert.equal((await app.inject({ method: 'GET', url, headers: { cookie } })).statusCode, 403, url);
    }
    const change = await app.inject({ method: 'POST', url: '/apps/a/scale', headers: { cookie }, payload: { type: 'web', quantity: '2', _csrf: csrf } });
    assert.equal(change.statusCode, 403);
    assert.deepEqual(reached.services, []);
  });

  it("makes a form's release in the name of the token the session signed in with", async (t) => {
    const asked: unknown[] = [];
    const { app, tokens, releases, apps } = await buildTestApp(t, {
      apps: ['a'],
      replace: () => ({
        deployer: {
          async changeApp(target: App, decide: (live: Release | undefined) => AppChange) {
            const change = decide(releases.live(target.id));
            asked.push(change.release?.madeBy);
            return null;
          },
        } as unknown as ApiDeps['deployer'],
      }),
    });
    const live = releases.create({ appId: apps.findByName('a')!.id, kind: 'deploy', gitSha: null, config: {} });
    releases.update(live.id, { image: 'pt/a:v1', port: 5000 });
    goLive(releases, live.id);
    const ops = tokens.create({ name: 'ops' });
    const { cookie } = await signIn(app, ops.token);
    const home = await app.inject({ method: 'GET', url: '/apps/a/releases/1', headers: { cookie } });
    const csrf = csrfOf(home.body);
    assert.notEqual(csrf, '', home.body);
    const changed = await app.inject({ method: 'POST', url: '/apps/a/config', headers: { cookie }, payload: { key: 'GREETING', value: 'hi', _csrf: csrf } });
    assert.equal(changed.statusCode, 303, changed.body);
    assert.deepEqual(asked, [{ kind: 'token', tokenId: ops.id, label: 'admin token ops' }]);
  });

  it('says, after a storage mount on a swarm, on which node the volume lives and what that means for the app', async (t) => {
    const { app } = await buildTestApp(t, {
      apps: ['a'],
      replace: () => ({
        storage: { mount: async () => ({ volume: { path: '/data', name: 'pt-a-data' }, release: null, node: 'node-2' }) } as unknown as ApiDeps['storage'],
      }),
    });
    const { cookie } = await signIn(app, TEST_ADMIN_TOKEN);
    const csrf = csrfOf((await app.inject({ method: 'GET', url: '/server', headers: { cookie } })).body);
    const mounted = await app.inject({ method: 'POST', url: '/apps/a/storage', headers: { cookie }, payload: { path: '/data', _csrf: csrf } });
    assert.equal(mounted.statusCode, 303, mounted.body);
    // The flash cookie as the browser sends it back: encoded as set (its text has a semicolon).
    const flash = [mounted.headers['set-cookie'] ?? []].flat().find((header) => header.startsWith('pilot_flash='))?.split(';')[0];
    assert.ok(flash);
    const next = await app.inject({ method: 'GET', url: '/server', headers: { cookie: `${cookie}; ${flash}` } });
    assert.match(next.body, /volume mounted at \/data\. The volume lives on node node-2: the app&#x27;s processes run on that node only, and are replaced stop-first/);
  });

  it("opens a page's socket after the newest event the page was rendered with: what was recorded since comes first", async (t) => {
    const { app, events, apps } = await buildTestApp(t, { apps: ['a'] });
    const a = apps.findByName('a')!.id;
    events.record({ appId: a, app: 'a', kind: 'deploy.started', message: 'before the page', release: 1 });
    const { cookie } = await signIn(app, TEST_ADMIN_TOKEN);
    const seen = events.newestId({ appId: a });
    // Went live between the page's render and its socket: the socket tells it, so the page refreshes.
    events.record({ appId: a, app: 'a', kind: 'deploy.succeeded', message: 'between render and socket', release: 1 });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = new WebSocket(`${address.replace(/^http/, 'ws')}/apps/a/live?after=${seen}`, { headers: { cookie, origin: address } });
    t.after(() => socket.close());
    const first = await new Promise<{ event?: { id: number; message: string } }>((resolve, reject) => {
      socket.on('message', (data) => resolve(JSON.parse(data.toString())));
      socket.on('error', reject);
      socket.on('close', (code) => reject(new Error(`closed ${code}`)));
    });
    assert.equal(first.event?.message, 'between render and socket');
    assert.equal(first.event?.id, events.newestId({ appId: a }));
  });

  it('signs out: the cookie no longer opens a page', async (t) => {
    const { app } = await buildTestApp(t, { apps: ['a'] });
    const { cookie } = await signIn(app, TEST_ADMIN_TOKEN);
    const home = await app.inject({ method: 'GET', url: '/server', headers: { cookie } });
    assert.equal(home.statusCode, 200, home.body);
    assert.match(String(home.headers['content-security-policy']), /script-src 'self'/);
    const out = await app.inject({ method: 'POST', url: '/sign-out', headers: { cookie }, payload: { _csrf: csrfOf(home.body) } });
    assert.equal(out.statusCode, 303, out.body);
    assert.equal((await app.inject({ method: 'GET', url: '/server', headers: { cookie } })).statusCode, 303);
  });

  it('serves its CSS and script without a session, cached and revalidated, and nothing outside dashboard/assets', async (t) => {
    const { app } = await buildTestApp(t);
    const css = await app.inject({ method: 'GET', url: '/assets/dashboard.css' });
    assert.equal(css.statusCode, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    assert.match(String(css.headers['cache-control']), /max-age=3600/);
    assert.match(String(css.headers['content-security-policy']), /default-src 'none'/);
    assert.ok(css.body.length > 0);
    const again = await app.inject({ method: 'GET', url: '/assets/dashboard.css', headers: { 'if-none-match': String(css.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.match(String((await app.inject({ method: 'GET', url: '/assets/dashboard.js' })).headers['content-type']), /javascript/);
    for (const url of ['/assets/missing.css', '/assets/../templates/layout.hbs', '/assets/%2e%2e/templates/layout.hbs', '/assets/', '/assets/.hidden']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
  });
});
