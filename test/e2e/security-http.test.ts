import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createServer, type PilotServer } from '../../src/server.js';
import { restoreBackup, writeBackup } from '../../src/maintenance/backup.js';
import { dataPaths } from '../../src/config.js';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, removeInstanceObjects, tempDir, testLogger } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'main.ts');

/** What a raw connection received before the server closed it. */
interface Closed {
  readonly received: string;
}

/**
 * Sends `head`, then one byte of `trickle` every 250 ms (at most 400), as a slow client
 * does; resolves once the server closes the connection, rejects if it is still open at the deadline.
 */
function slowClient(socket: net.Socket, head: string, trickle = 'x', deadlineMs = 20_000): Promise<Closed> {
  return new Promise((resolve, reject) => {
    let received = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (sent++ < 400 && socket.writable) socket.write(trickle);
    }, 250);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server still kept the connection open after ${deadlineMs} ms; it sent: ${JSON.stringify(received.slice(0, 200))}`));
    }, deadlineMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve({ received });
    });
    const start = (): void => void socket.write(head);
    if (socket instanceof tls.TLSSocket) socket.once('secureConnect', start);
    else socket.once('connect', start);
  });
}

/** The promise's value, or a failure naming what did not happen by the deadline. */
function within<T>(promise: Promise<T>, deadlineMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${deadlineMs} ms`)), deadlineMs)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Issue 18, items 4, 5, 7 and 9 (tokens, forwarded addresses, file modes): each attack, refused. */
describe('security over HTTP: slow clients, tokens, forwarded addresses, config bytes, file modes', { skip }, () => {
  let pilot: TestPilot;
  let server: PilotServer;
  let port: number;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot({ PILOT_REQUEST_TIMEOUT: '6', PILOT_HEADERS_TIMEOUT: '2', PILOT_MAX_CONNECTIONS: '24' });
    server = pilot.server;
    port = Number(new URL(server.address).port);
    client = new GitClient(tempDir('sec-http'));
    await client.init();
    await client.commit({ 'index.html': '<h1>hardened</h1>\n' });
    const pushed = await pilot.push(client, 'hard');
    assert.equal(pushed.code, 0, pushed.stderr);
  });
  after(async () => {
    await closePilot();
  });

  /** The shared Pilot, or the one a test restarted on its data directory. */
  let restarted: PilotServer | undefined;
  async function closePilot(): Promise<void> {
    if (!restarted) return pilot?.close();
    await restarted.close();
    await restarted.managedCaddy?.terminate();
    await removeInstanceObjects(server.config.instance);
    fs.rmSync(server.config.dataDir, { recursive: true, force: true });
  }

  function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object) {
    return fetch(`${server.address}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { body: JSON.stringify(payload) } : {}),
    });
  }

  const direct = () => net.connect(port, '127.0.0.1');
  const throughCaddy = () => tls.connect({ host: '127.0.0.1', port: pilot.httpsPort, servername: `pilot.${pilot.domain}`, ca: fs.readFileSync(pilot.caFile) });
  const post = (url: string, type: string, headers = '') =>
    `POST ${url} HTTP/1.1\r\nHost: pilot.${pilot.domain}\r\nContent-Type: ${type}\r\nContent-Length: 100000\r\n${headers}\r\n`;

  it('answers a body without a valid token at once and closes the connection, on API and git routes, directly and through Caddy', async () => {
    const bad = 'Authorization: Bearer pilot_not-a-token\r\n';
    const cases = [
      post('/api/v1/apps', 'application/json'),
      post('/hard.git/git-receive-pack', 'application/x-git-receive-pack-request'),
      post('/hard.git/git-upload-pack', 'application/x-git-upload-pack-request'),
      post('/no/such/route', 'text/plain'),
      post('/api/v1/apps', 'application/json', bad),
    ];
    for (const head of cases) {
      for (const [how, connect] of [['direct', direct], ['through Caddy', throughCaddy]] as const) {
        const what = `${how}: ${head.split('\r\n')[0]}`;
        const { received } = await slowClient(connect(), head).catch((error: Error) => assert.fail(`${what}: ${error.message}`));
        assert.match(received, /^HTTP\/1\.1 401 /, what);
      }
    }
    // Caddy passes the refusal on whole: git still learns to send credentials.
    const refs = await httpsGet({ host: `pilot.${pilot.domain}`, port: pilot.httpsPort, path: '/hard.git/info/refs?service=git-upload-pack', ca: pilot.caFile });
    assert.equal(refs.status, 401);
    assert.equal(refs.headers['www-authenticate'], 'Basic realm="Pilot"');
    assert.equal(refs.headers['content-length'], String(Buffer.byteLength(refs.body)));
  });

  it('cuts a client that trickles its headers, or (with a valid token) its body, at the timeouts', async () => {
    const headers = await slowClient(direct(), `GET /health HTTP/1.1\r\nHost: x\r\n`, 'X');
    assert.match(headers.received, /^HTTP\/1\.1 408 /);
    const body = await slowClient(direct(), post('/api/v1/apps', 'application/json', `Authorization: Bearer ${pilot.token}\r\n`));
    assert.match(body.received, /^HTTP\/1\.1 408 /);
    assert.equal((await fetch(`${server.address}/health`)).status, 200);
  });

  it('ends an authenticated git-upload-pack POST that asks for nothing (no want line) instead of hanging', async () => {
    const auth = `Basic ${Buffer.from(`x:${pilot.token}`).toString('base64')}`;
    for (const body of ['0000', '0009done\n', '0032have 0000000000000000000000000000000000000000\n0000']) {
      const answer = await fetch(`${server.address}/hard.git/git-upload-pack`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-git-upload-pack-request' },
        body,
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(answer.status, 400, body);
      assert.match(await answer.text(), /must start with a "want" line/);
    }
    const clone = new GitClient(tempDir('sec-clone'));
    const cloned = await clone.run(['clone', remoteUrl(server.address, 'hard', pilot.token), '.'], { timeoutMs: 60_000 });
    assert.equal(cloned.code, 0, `a real fetch still works: ${cloned.stderr}`);
    // Through Caddy too, where git first meets the 401 that asks for its credentials.
    const base = `https://pilot.${pilot.domain}:${pilot.httpsPort}`;
    const viaCaddy = new GitClient(tempDir('sec-clone-caddy'));
    const overHttps = ['-c', `http.sslCAInfo=${pilot.caFile}`, '-c', `http.curloptResolve=pilot.${pilot.domain}:${pilot.httpsPort}:127.0.0.1`];
    const throughCaddy = await viaCaddy.run([...overHttps, 'clone', remoteUrl(base, 'hard', pilot.token), '.'], { timeoutMs: 60_000 });
    assert.equal(throughCaddy.code, 0, `a fetch through Caddy works: ${throughCaddy.stderr}`);
  });

  it('drops connections past PILOT_MAX_CONNECTIONS and keeps serving', async () => {
    const sockets = Array.from({ length: 40 }, () => slowClient(direct(), '', ''));
    const closed = await Promise.all(sockets);
    // Past the cap a connection is closed before any answer; the others waited for the headers timeout (408).
    const dropped = closed.filter(({ received }) => received === '').length;
    assert.ok(dropped >= 16, `only ${dropped} of 40 connections were dropped`);
    assert.ok(closed.some(({ received }) => received.startsWith('HTTP/1.1 408')));
    assert.equal((await fetch(`${server.address}/health`)).status, 200);
  });

  it('refuses a config value with a NUL byte naming the key, and never puts KEY=value in a failure reason', async () => {
    const refused = await api('PATCH', '/apps/hard/config', pilot.token, { set: { NUL_KEY: 'sec\u0000ret-value' } });
    assert.equal(refused.status, 400);
    const message = await refused.text();
    assert.match(message, /NUL_KEY/);
    assert.doesNotMatch(message, /ret-value/);
    assert.equal((await pilot.get('hard')).status, 200);

    // Stored by an older Pilot: the next release fails, and says so without the value.
    const app = server.db.prepare('SELECT id FROM apps WHERE name = ?').get('hard') as { id: number };
    server.db.prepare('INSERT INTO config_vars (app_id, key, value) VALUES (?, ?, ?)').run(app.id, 'OLD_NUL', 'old\u0000secret-value');
    const failed = await api('PATCH', '/apps/hard/config', pilot.token, { set: { OTHER: '1' } });
    assert.ok(failed.status >= 400, `the release with a NUL value did not fail: ${failed.status}`);
    const deployToken = ((await (await api('POST', '/tokens', pilot.token, { name: 'reader', app: 'hard' })).json()) as { token: string }).token;
    const releases = await (await api('GET', '/apps/hard/releases', deployToken)).text();
    for (const text of [await failed.text(), releases]) {
      assert.doesNotMatch(text, /secret-value|OLD_NUL=/);
    }
    assert.match(releases, /"status":"failed"/);
    server.db.prepare('DELETE FROM config_vars WHERE key = ?').run('OLD_NUL');
    assert.equal((await pilot.get('hard')).status, 200, 'the live release kept serving');
  });

  it('revokes exactly one token, refuses an ambiguous name, and closes the revoked token\'s log and run WebSockets', async () => {
    const create = async (name: string, app?: string) =>
      (await (await api('POST', '/tokens', pilot.token, { name, ...(app ? { app } : {}) })).json()) as { id: number; token: string; prefix: string };
    const [first, second] = [await create('twin', 'hard'), await create('twin', 'hard')];
    const ambiguous = await api('DELETE', '/tokens/twin', pilot.token);
    assert.equal(ambiguous.status, 409);
    for (const token of [first, second]) assert.equal((await api('GET', '/whoami', token.token)).status, 200, 'nothing was revoked');
    const byPrefix = (await (await api('DELETE', `/tokens/${first.prefix}`, pilot.token)).json()) as { revoked: { id: number }[] };
    assert.deepEqual(byPrefix.revoked.map((token) => token.id), [first.id]);
    assert.equal((await api('GET', '/whoami', first.token)).status, 401);
    assert.equal((await api('GET', '/whoami', second.token)).status, 200);
    assert.equal((await api('DELETE', `/tokens/${first.prefix.slice(0, 9)}`, pilot.token)).status, 404, 'a shorter prefix names nothing');

    const admin = await create('runner');
    const open = (url: string, token: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`${server.address.replace('http', 'ws')}/api/v1${url}`, { headers: { authorization: `Bearer ${token}` } });
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    const logs = await open('/apps/hard/logs/stream', second.token);
    const run = await open('/apps/hard/run', admin.token);
    const closes = [logs, run].map((socket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code))));
    assert.equal((await api('DELETE', `/tokens/${second.id}`, pilot.token)).status, 200);
    assert.equal((await api('DELETE', '/tokens/runner', pilot.token)).status, 200);
    assert.deepEqual(await within(Promise.all(closes), 15_000, 'the revoked tokens\' WebSockets to close'), [1008, 1008]);
  });

  it('believes X-Forwarded-For only from its Caddy: a loopback client naming new addresses is still limited; certificates are asked of Caddy, not Pilot', async () => {
    // The rendered Caddyfile holds the key Caddy sends with what it proxies.
    const caddyfile = fs.readFileSync(server.paths.caddyfile, 'utf8');
    assert.ok(/header_up X-Pilot-Proxy-Key (\S+)/.test(caddyfile), 'the control-plane site sends the proxy key');
    // Pilot has no /tls/ask: nobody learns from it which apps exist.
    const pilotAsk = await fetch(`${server.address}/tls/ask?domain=hard.${pilot.domain}`);
    assert.notEqual(pilotAsk.status, 200);
    assert.doesNotMatch(await pilotAsk.text(), /hard/);
    // Caddy asks its own loopback-only site, which knows exactly the names it serves.
    const caddyAsk = (host: string) => fetch(`http://127.0.0.1:${pilot.httpPort}/tls/ask?domain=${host}`);
    assert.equal((await caddyAsk(`hard.${pilot.domain}`)).status, 200);
    assert.equal((await caddyAsk(`nobody.${pilot.domain}`)).status, 404);

    const statuses: number[] = [];
    for (let n = 1; n <= 11; n++) {
      const answer = await fetch(`${server.address}/api/v1/apps`, { headers: { authorization: 'Bearer pilot_wrong', 'x-forwarded-for': `198.51.100.${n}` } });
      statuses.push(answer.status);
    }
    assert.equal(statuses.at(-1), 429, `statuses: ${statuses.join(' ')}`);
    assert.equal((await api('GET', '/apps', pilot.token)).status, 200, 'valid tokens are never limited');
  });

  it('keeps pilot.db, its -wal and -shm 0600 and the data directory 0700, also after a restore; a backup copies repositories before the database', async () => {
    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    assert.equal(mode(server.config.dataDir), 0o700);
    for (const file of [server.paths.database, `${server.paths.database}-wal`, `${server.paths.database}-shm`]) assert.equal(mode(file), 0o600, file);

    const archive = path.join(tempDir('sec-backup'), 'pilot.tar.gz');
    await writeBackup(server.paths, server.config.instance, archive);
    const restoredDir = tempDir('sec-restore');
    fs.chmodSync(restoredDir, 0o755);
    const restored = dataPaths(restoredDir);
    await restoreBackup(restored, archive);
    assert.equal(mode(restoredDir), 0o700);
    assert.equal(mode(restored.database), 0o600);
    assert.equal(mode(restored.repositories), 0o700);
    fs.rmSync(restoredDir, { recursive: true, force: true });
    fs.rmSync(path.dirname(archive), { recursive: true, force: true });
  });

  it('refuses to start with a PILOT_ADMIN_TOKEN under 24 characters, without printing it', async () => {
    const dataDir = tempDir('sec-short');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { PATH: process.env.PATH ?? '', PILOT_DATA_DIR: dataDir, PILOT_ADMIN_TOKEN: 'short-admin-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await within(new Promise<number | null>((resolve) => child.once('exit', resolve)), 30_000, 'Pilot to refuse to start');
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.equal(code, 2);
    assert.match(output, /PILOT_ADMIN_TOKEN is too short \(17 characters\): use at least 24/);
    assert.doesNotMatch(output, /short-admin-token/);
  });

  // Last: it restarts Pilot.
  it('revokes the old PILOT_ADMIN_TOKEN when Pilot restarts with a new one', async () => {
    const rotated = `rotated-admin-token-${Date.now()}`;
    const old = pilot.token;
    await server.close();
    restarted = await createServer({ ...server.config, adminToken: rotated }, testLogger());
    const whoami = (token: string) => fetch(`${restarted?.address}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await whoami(old)).status, 401, 'the old value is no longer an admin token');
    assert.equal((await whoami(rotated)).status, 200);
    const tokens = (await (await fetch(`${restarted.address}/api/v1/tokens`, { headers: { authorization: `Bearer ${rotated}` } })).json()) as { name: string }[];
    assert.equal(tokens.filter((token) => token.name === 'admin (PILOT_ADMIN_TOKEN)').length, 1);
    assert.equal((await pilot.get('hard')).status, 200, 'the app served throughout');
  });
});
