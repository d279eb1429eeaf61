import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dropUntrustedForwarding, isLoopback } from '../../../src/http/client-address.js';
import { TEST_PROXY_KEY, buildTestApp } from '../../helpers/api.js';

describe('dropUntrustedForwarding', () => {
  it('keeps X-Forwarded-For only when the request carries the proxy key, and drops the key itself', () => {
    const fromCaddy: Record<string, string> = { 'x-forwarded-for': '203.0.113.7', 'x-pilot-proxy-key': 'k3y', host: 'pilot.example.com' };
    dropUntrustedForwarding(fromCaddy, 'k3y');
    assert.deepEqual(fromCaddy, { 'x-forwarded-for': '203.0.113.7', host: 'pilot.example.com' });
    for (const presented of [undefined, 'wrong', 'k3', 'k3y ']) {
      const headers: Record<string, string> = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'x', host: 'h' };
      if (presented !== undefined) headers['x-pilot-proxy-key'] = presented;
      dropUntrustedForwarding(headers, 'k3y');
      assert.deepEqual(headers, { host: 'h' }, String(presented));
    }
  });
});

describe('isLoopback', () => {
  it('knows this machine\'s addresses in every spelling, and nothing else', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopback(ip), true, ip);
    for (const ip of ['10.0.0.1', '::2', '::ffff:10.0.0.1', '2001:db8::1', 'localhost', '']) assert.equal(isLoopback(ip), false, ip);
  });
});

describe('the control plane and client addresses', () => {
  const bad = { authorization: 'Bearer pilot_wrong-token' };

  it('counts failed authentications per IPv6 /64, and believes X-Forwarded-For only with the proxy key', async (t) => {
    const { app } = await buildTestApp(t);
    const get = (remoteAddress: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url: '/api/v1/apps', remoteAddress, headers: { ...bad, ...headers } });
    for (let host = 1; host <= 10; host++) assert.equal((await get(`2001:db8:1:2::${host.toString(16)}`)).statusCode, 401);
    assert.equal((await get('2001:db8:1:2:ffff:ffff:ffff:ffff')).statusCode, 429, 'another address of the same /64');
    assert.equal((await get('2001:db8:1:3::1')).statusCode, 401, 'the next /64 is another client');

    // A loopback client naming a new address each time is still one client.
    for (let n = 1; n <= 10; n++) assert.equal((await get('127.0.0.1', { 'x-forwarded-for': `198.51.100.${n}` })).statusCode, 401);
    assert.equal((await get('127.0.0.1', { 'x-forwarded-for': '198.51.100.77' })).statusCode, 429);
    // Caddy, with the key, speaks for the client it forwards.
    assert.equal((await get('127.0.0.1', { 'x-forwarded-for': '198.51.100.77', 'x-pilot-proxy-key': TEST_PROXY_KEY })).statusCode, 401);
  });

  it("believes its Caddy's X-Forwarded-For over an IPv4-mapped loopback too (PILOT_BIND=::)", async (t) => {
    const { app } = await buildTestApp(t);
    const viaCaddy = (client: string) =>
      app.inject({ method: 'GET', url: '/api/v1/apps', remoteAddress: '::ffff:127.0.0.1', headers: { ...bad, 'x-forwarded-for': client, 'x-pilot-proxy-key': TEST_PROXY_KEY } });
    for (let n = 1; n <= 10; n++) assert.equal((await viaCaddy('198.51.100.50')).statusCode, 401);
    assert.equal((await viaCaddy('198.51.100.50')).statusCode, 429, 'that client is limited');
    assert.equal((await viaCaddy('198.51.100.51')).statusCode, 401, 'another client behind the same Caddy is not');
  });

  it('serves no /tls/ask: Caddy answers its own certificate question, and nobody learns which apps exist here', async (t) => {
    const { app } = await buildTestApp(t, { apps: ['web'] });
    for (const remoteAddress of ['127.0.0.1', '203.0.113.5']) {
      const answer = await app.inject({ method: 'GET', url: '/tls/ask?domain=web.pilot.test', remoteAddress });
      assert.notEqual(answer.statusCode, 200, remoteAddress);
      assert.doesNotMatch(answer.body, /web/);
    }
  });

  it('refuses a body without a valid token on every route before reading it, and closes the connection', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['web'] });
    for (const url of ['/api/v1/apps', '/web.git/git-receive-pack', '/web.git/git-upload-pack', '/no/such/route']) {
      for (const headers of [{}, bad]) {
        const answer = await app.inject({ method: 'POST', url, payload: '{"name": "x"}', headers: { 'content-type': 'application/json', ...headers } });
        assert.equal(answer.statusCode, 401, `${url} ${answer.body}`);
        assert.equal(answer.headers.connection, 'close', url);
      }
    }
    assert.deepEqual(reached, { git: [], services: [] });
  });

  it('refuses such a body from its Caddy too, but leaves the connection open: Caddy may still be writing the body, and closes its client itself', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['web'] });
    for (const url of ['/api/v1/apps', '/web.git/git-receive-pack']) {
      const answer = await app.inject({ method: 'POST', url, payload: '{"name": "x"}', headers: { 'content-type': 'application/json', 'x-pilot-proxy-key': TEST_PROXY_KEY } });
      assert.equal(answer.statusCode, 401, `${url} ${answer.body}`);
      assert.notEqual(answer.headers.connection, 'close', url);
    }
    assert.deepEqual(reached, { git: [], services: [] });
  });
});
