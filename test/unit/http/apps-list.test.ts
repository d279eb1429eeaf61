import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppStatus } from '../../../src/domain/shapes.js';
import { buildTestApp, TEST_ADMIN_TOKEN } from '../../helpers/api.js';
import { appServiceOver, buildCore } from '../../helpers/core.js';

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** The API with the real AppService over the core (real stores, rollout and live state on the fake runtime), `shop` live. */
async function listedApi(t: { after(fn: () => Promise<unknown>): void }) {
  const core = buildCore();
  core.apps.create('shop');
  await core.push('shop');
  const service = appServiceOver(core);
  // The token store is the test app's: `shop` exists there too, for its deploy token.
  const api = await buildTestApp(t, {
    apps: ['shop'],
    replace: () => ({ apps: service, domains: core.domains, routes: core.routes, deployer: core.deployer, processes: core.processes }),
  });
  let etag = '';
  /** GET /api/v1/apps with the ETag of the previous answer: each change must answer 200 with the change, never 304. */
  const listAfterChange = async (): Promise<AppStatus[]> => {
    const response = await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: { ...admin, 'if-none-match': etag } });
    assert.equal(response.statusCode, 200, 'a changed list is answered in full');
    assert.notEqual(response.headers.etag, etag);
    etag = response.headers.etag as string;
    return response.json();
  };
  const shop = async () => (await listAfterChange()).find((status) => status.name === 'shop');
  const request = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => api.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  return { core, service, api, listAfterChange, shop, request };
}

describe('GET /api/v1/apps', () => {
  it('answers the list the service gives, as JSON with an ETag; the same ETag again gets a 304 and no body', async (t) => {
    const { service, api } = await listedApi(t);
    const first = await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: admin });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(first.json(), service.list());
    assert.match(String(first.headers.etag), /^"[\w-]+"$/);

    const again = await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: admin });
    assert.equal(again.body, first.body);
    assert.equal(again.headers.etag, first.headers.etag);
    for (const ifNoneMatch of [first.headers.etag as string, `W/${first.headers.etag}`, `"other", ${first.headers.etag}`, '*']) {
      const unchanged = await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: { ...admin, 'if-none-match': ifNoneMatch } });
      assert.equal(unchanged.statusCode, 304, ifNoneMatch);
      assert.equal(unchanged.body, '');
      assert.equal(unchanged.headers.etag, first.headers.etag);
    }
    const other = await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: { ...admin, 'if-none-match': '"other"' } });
    assert.equal(other.statusCode, 200);
    assert.equal(other.body, first.body);
  });

  it('shows each change at the next request: create, deploy, a container state change, scale, domain, settings, deploying, rename, destroy', async (t) => {
    const { core, listAfterChange, shop, request } = await listedApi(t);
    assert.deepEqual((await listAfterChange()).map((status) => [status.name, status.release?.version, status.state]), [['shop', 1, 'running']]);

    assert.equal((await request('POST', '/api/v1/apps', { name: 'blog' })).statusCode, 201);
    assert.deepEqual((await listAfterChange()).map((status) => status.name), ['blog', 'shop']);

    await core.push('shop', 'b'.repeat(40));
    assert.deepEqual((await shop())?.release?.version, 2);

    const web = core.live.list({ app: 'shop', release: 2 })[0];
    assert.ok(web);
    core.runtime.set(web.id, { running: false, status: 'exited' });
    assert.equal((await shop())?.state, 'exited');
    core.runtime.set(web.id, { running: true, status: 'running' });
    assert.equal((await shop())?.state, 'running');

    assert.equal((await request('POST', '/api/v1/apps/shop/ps/scale', { web: 0 })).statusCode, 200);
    // web.1 retires once it drained, after the answer.
    await core.rollout.settle();
    assert.equal((await shop())?.state, 'scaled to 0');
    assert.equal((await request('POST', '/api/v1/apps/shop/ps/scale', { web: 1 })).statusCode, 200);
    assert.equal((await shop())?.state, 'running');

    assert.equal((await request('POST', '/api/v1/apps/shop/domains', { domain: 'www.shop.example' })).statusCode, 201);
    assert.deepEqual((await shop())?.domains, ['www.shop.example']);
    assert.equal((await request('DELETE', '/api/v1/apps/shop/domains/www.shop.example')).statusCode, 200);
    assert.deepEqual((await shop())?.domains, []);

    assert.equal((await request('PATCH', '/api/v1/apps/shop', { buildDir: 'web', watchSeconds: 5 })).statusCode, 200);
    const settings = await shop();
    assert.deepEqual([settings?.buildDir, settings?.watchSeconds], ['web', 5]);
    assert.equal((await request('POST', '/api/v1/apps/shop/maintenance', { enabled: true })).statusCode, 200);
    assert.equal((await shop())?.maintenance, true);

    await core.deployer.withAppLock('shop', async () => assert.equal((await shop())?.deploying, true));
    assert.equal((await shop())?.deploying, false);

    assert.equal((await request('POST', '/api/v1/apps/shop/rename', { name: 'store' })).statusCode, 200);
    assert.deepEqual((await listAfterChange()).map((status) => [status.name, status.url]), [['blog', 'https://blog.pilot.test'], ['store', 'https://store.pilot.test']]);

    assert.equal((await request('DELETE', '/api/v1/apps/blog?confirm=blog')).statusCode, 200);
    assert.deepEqual((await listAfterChange()).map((status) => status.name), ['store']);
  });

  it('stays admin-only: a deploy token gets a 403 and no list, with or without an ETag', async (t) => {
    const { api } = await listedApi(t);
    const { etag } = (await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: admin })).headers;
    const token = api.deployToken('shop');
    for (const headers of [{}, { 'if-none-match': etag as string }]) {
      const refused = await api.app.inject({ method: 'GET', url: '/api/v1/apps', headers: { authorization: `Bearer ${token}`, ...headers } });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.headers.etag, undefined);
      assert.doesNotMatch(refused.body, /shop/);
    }
    // Its own app, by its own route.
    assert.equal((await api.app.inject({ method: 'GET', url: '/api/v1/apps/shop', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
  });
});
