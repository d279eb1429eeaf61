import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot } from '../helpers/cli.js';

const skip = integrationSkipReason();
const CUSTOM_DOMAIN = 'www.shop-rename.test';

/** web says hello with GREETING and its version; /note reads the volume, /write puts a note on it. */
function appFiles(version: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'rename-app', version, scripts: { start: 'node web.js' } }),
    'web.js':
      "const fs = require('fs');\nconst { version } = require('./package.json');\n" +
      "require('http').createServer((request, response) => {\n" +
      "  if (request.url === '/write') { fs.writeFileSync('/data/note.txt', 'written before the rename'); return response.end('ok'); }\n" +
      "  if (request.url === '/note') { try { return response.end(fs.readFileSync('/data/note.txt', 'utf8')); } catch { return response.end('missing'); } }\n" +
      "  response.end('hello ' + process.env.GREETING + ' v' + version);\n" +
      '}).listen(process.env.PORT);\n',
  };
}

/** A plain HTTP GET through Caddy's HTTP port with this Host. */
function httpGet(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', headers: { Host: host }, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

describe('apps:rename (real Docker, Caddy, git and CLI)', { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot();
    client = new GitClient(tempDir('rename'));
    await client.init();
  });
  after(async () => {
    await pilot?.close();
  });

  function api(method: 'GET' | 'POST' | 'PATCH', url: string, body?: object) {
    return pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(body ? { payload: body } : {}) });
  }

  const get = (host: string, path = '/') => httpsGet({ host, port: pilot.httpsPort, path, ca: pilot.caFile });

  it('moves a pushed app to its new name: new URL serves, old one gives a 404 page, config, domain and volume data kept, no failed request on the custom domain, the new remote deploys', async () => {
    assert.equal((await api('POST', '/apps', { name: 'shop' })).statusCode, 201);
    assert.equal((await api('POST', '/apps/shop/storage', { path: '/data' })).statusCode, 201);
    assert.equal((await api('PATCH', '/apps/shop/config', { set: { GREETING: 'kept' } })).statusCode, 200);
    assert.equal((await api('POST', '/apps/shop/domains', { domain: CUSTOM_DOMAIN })).statusCode, 201);
    await client.commit(appFiles('1'));
    const pushed = await client.run(['push', remoteUrl(pilot.server.address, 'shop', pilot.token), 'HEAD:refs/heads/main']);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((await get('shop.localhost')).body, 'hello kept v1');
    assert.equal((await get('shop.localhost', '/write')).body, 'ok');
    // The checkout's remote, as `pilot git:remote -a shop` leaves it.
    await client.ok(['remote', 'add', 'pilot', `${pilot.server.address}/shop.git`]);

    // Requests on the custom domain all through the rename.
    let loading = true;
    const failures: string[] = [];
    let served = 0;
    const load = (async () => {
      while (loading) {
        try {
          const answer = await get(CUSTOM_DOMAIN);
          if (answer.status === 200 && answer.body === 'hello kept v1') served += 1;
          else failures.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    })();
    const renamed = await runPilot(['apps:rename', 'store', '-a', 'shop'], client.workDir, { HOME: tempDir('cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
    // Through the old processes' drain and retirement too.
    await pilot.server.deployer.settle();
    loading = false;
    await load;
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.match(renamed.stdout, /Renamed shop to store: https:\/\/store\.localhost:\d+/);
    assert.match(renamed.stdout, new RegExp(`Git remote: ${pilot.server.address}/store\\.git`));
    assert.match(renamed.stdout, /Updated this repository's remote pilot to it/);
    assert.equal(await client.ok(['remote', 'get-url', 'pilot']), `${pilot.server.address}/store.git`);
    assert.deepEqual(failures, [], `requests on ${CUSTOM_DOMAIN} failed during the rename (${served} served)`);
    assert.ok(served > 0, 'the custom domain was requested during the rename');

    assert.equal((await get('store.localhost')).body, 'hello kept v1');
    assert.equal((await get('store.localhost', '/note')).body, 'written before the rename', 'the volume kept its data');
    const old = await get('shop.localhost');
    assert.equal(old.status, 404);
    assert.match(old.body, /No app named shop any more.*This app was renamed: it no longer answers at this address/);
    // Any other name under the domain: a 404 page too (over HTTP: no certificate is made for names Pilot does not serve).
    const unknown = await httpGet(pilot.httpPort, `nothing.localhost:${pilot.httpPort}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /No app answers at this address/);
    const gone = await api('GET', '/apps/shop');
    assert.equal(gone.statusCode, 404);
    assert.match(gone.json<{ message: string }>().message, /it was renamed to store/);
    // The old remote neither deploys nor makes a new app of the old name.
    const toOld = await client.run(['push', remoteUrl(pilot.server.address, 'shop', pilot.token), 'HEAD:refs/heads/main']);
    assert.notEqual(toOld.code, 0);
    assert.match(toOld.stderr, /shop was renamed to store: point your remote at it \(pilot git:remote -a store\)/);
    assert.deepEqual((await api('GET', '/apps/store/config')).json<{ config: Record<string, string> }>().config, { GREETING: 'kept' });
    const oldContainers = execFileSync('docker', ['ps', '-aq', '--filter', `name=^/${pilot.server.config.instance}-shop-`]).toString().trim();
    assert.equal(oldContainers, '', 'the processes of the old name are gone');
    assert.equal((await api('GET', '/apps/store/releases')).json<unknown[]>().length, 1, 'the release history is kept');

    // `pilot git:remote -a store` keeps the remote the rename updated.
    const remote = await runPilot(['git:remote', '-a', 'store'], client.workDir, { HOME: tempDir('cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
    assert.equal(remote.code, 0, remote.stderr);
    assert.match(remote.stdout, /Kept remote pilot -> .*\/store\.git/);

    await client.commit(appFiles('2'));
    const again = await client.run(['push', remoteUrl(pilot.server.address, 'store', pilot.token), 'HEAD:refs/heads/main']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Receiving [0-9a-f]{7} for store/);
    assert.equal((await get('store.localhost')).body, 'hello kept v2');
    assert.equal((await get(CUSTOM_DOMAIN)).body, 'hello kept v2');
    assert.equal((await get('store.localhost', '/note')).body, 'written before the rename', 'the volume is still mounted after a push under the new name');
  });
});
