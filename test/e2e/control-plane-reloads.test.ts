import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { GitClient, integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

interface Answer {
  readonly status: number;
  readonly body: string;
}

interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly path: string;
  /** None: a refusal that the limit on failed authentications does not count. */
  readonly token?: string;
  readonly body?: object;
}

/**
 * The CLI and the dashboard talk to the API at https://pilot.<domain> through Caddy, on kept-alive
 * connections, while other apps' rollouts reload Caddy: none of their requests may fail then.
 */
describe('control plane through Caddy while rollouts reload it (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;
  let ca: Buffer;
  let host: string;

  before(async () => {
    pilot = await startTestPilot();
    ca = fs.readFileSync(pilot.caFile);
    host = `pilot.${pilot.domain}`;
  });
  after(async () => {
    await pilot?.close();
  });

  /**
   * HTTP/1.1 on one kept-alive connection, as browsers reuse theirs. Each Caddy reload closes
   * its idle connections, and a request sent on one as it closes is reset before any answer:
   * like browsers (and Node's documented `reusedSocket` check), it is sent again once on a new
   * connection, and counted.
   */
  function http1Client(): { send(request: ApiRequest): Promise<Answer>; close(): void; resent: number } {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: host });
    const client = {
      resent: 0,
      send: (request: ApiRequest, again = true): Promise<Answer> =>
        new Promise<Answer>((resolve, reject) => {
          const body = request.body ? JSON.stringify(request.body) : undefined;
          const outgoing = https.request(
            {
              host: '127.0.0.1',
              port: pilot.httpsPort,
              method: request.method,
              path: request.path,
              agent,
              timeout: 20_000,
              headers: {
                host: `${host}:${pilot.httpsPort}`,
                ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
                ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
              },
            },
            (response) => {
              const chunks: Buffer[] = [];
              response.on('data', (chunk: Buffer) => chunks.push(chunk));
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
              response.on('error', reject);
            },
          );
          outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
          outgoing.on('error', (error: NodeJS.ErrnoException) => {
            if (!again || !outgoing.reusedSocket || error.code !== 'ECONNRESET') return reject(error);
            client.resent += 1;
            resolve(client.send(request, false));
          });
          outgoing.end(body);
        }),
      close: () => agent.destroy(),
    };
    return client;
  }

  /**
   * HTTP/2 on one session, a new one once the server has said it goes away (each Caddy reload
   * does). A stream the server refused unprocessed (REFUSED_STREAM, sent past its GOAWAY) is
   * sent again once on a new session, as RFC 9113 8.7 allows and browsers do; and counted.
   */
  function http2Client(): { send(request: ApiRequest): Promise<Answer>; close(): void; resent: number; sessions: number } {
    let session: http2.ClientHttp2Session | undefined;
    const connect = () => {
      client.sessions += 1;
      const opened = http2.connect(`https://127.0.0.1:${pilot.httpsPort}`, { ca, servername: host });
      const forget = () => {
        if (session === opened) session = undefined;
      };
      opened.on('goaway', forget);
      opened.on('close', forget);
      opened.on('error', () => undefined);
      return opened;
    };
    const client = {
      resent: 0,
      sessions: 0,
      send: (request: ApiRequest, again = true): Promise<Answer> =>
        new Promise<Answer>((resolve, reject) => {
          if (!session || session.closed || session.destroyed) session = connect();
          const body = request.body ? JSON.stringify(request.body) : undefined;
          const stream = session.request({
            ':method': request.method,
            ':path': request.path,
            ':authority': `${host}:${pilot.httpsPort}`,
            ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
            ...(body ? { 'content-type': 'application/json' } : {}),
          });
          let status = 0;
          const chunks: Buffer[] = [];
          stream.setTimeout(20_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
          stream.on('response', (headers) => (status = Number(headers[':status'])));
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
          stream.on('error', () => undefined);
          stream.on('close', () => {
            if (status !== 0 && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) return;
            if (again && status === 0 && stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
              client.resent += 1;
              session = undefined;
              return resolve(client.send(request, false));
            }
            reject(new Error(`stream closed (status ${status}, code ${stream.rstCode})`));
          });
          stream.end(body);
        }),
      close: () => session?.close(),
    };
    return client;
  }

  /** Each round: a read, a change (PATCH with a JSON body), and a body Pilot refuses (401) before reading it. */
  function round(): readonly [ApiRequest, (answer: Answer) => boolean][] {
    const watchSeconds = Math.floor(Math.random() * 1000);
    const json = (answer: Answer) => {
      try {
        return JSON.parse(answer.body) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    return [
      [{ method: 'GET', path: '/api/v1/apps', token: pilot.token }, (answer) => answer.status === 200 && Array.isArray(json(answer))],
      [{ method: 'PATCH', path: '/api/v1/apps/settings', token: pilot.token, body: { watchSeconds } }, (answer) => answer.status === 200 && json(answer)?.name === 'settings'],
      [{ method: 'POST', path: '/api/v1/apps', body: { name: 'never-made' } }, (answer) => answer.status === 401 && typeof json(answer)?.message === 'string'],
    ];
  }

  it('answers every API request over HTTP/1.1 and HTTP/2 (reads, changes, refusals) while three rollouts of another app reload Caddy', async (t) => {
    const created = await pilot.server.app.inject({ method: 'POST', url: '/api/v1/apps', headers: { authorization: `Bearer ${pilot.token}` }, payload: { name: 'settings' } });
    assert.equal(created.statusCode, 201, created.body);
    const client = new GitClient(tempDir('reloads'));
    await client.init();
    await client.commit({ 'index.html': 'v1' });
    const first = await pilot.push(client, 'site');
    assert.equal(first.code, 0, first.stderr);

    const clients = { 'HTTP/1.1': http1Client(), 'HTTP/2': http2Client() };
    const counts = { ok: 0, failed: [] as string[] };
    let stop = false;
    const loops = Object.entries(clients).map(async ([protocol, api]) => {
      while (!stop) {
        for (const [request, expected] of round()) {
          const what = `${protocol} ${request.method} ${request.path}`;
          try {
            const answer = await api.send(request);
            if (expected(answer)) counts.ok += 1;
            else counts.failed.push(`${what}: ${answer.status} ${answer.body.slice(0, 120)}`);
          } catch (error) {
            counts.failed.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }
    });
    try {
      for (const version of [2, 3, 4]) {
        await client.commit({ 'index.html': `v${version}` });
        const pushed = await pilot.push(client, 'site');
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.equal(await waitFor(`v${version} served`, async () => ((await pilot.get('site')).body === `v${version}` ? true : undefined)), true);
      }
      await pilot.server.deployer.settle();
    } finally {
      stop = true;
      await Promise.all(loops);
      for (const api of Object.values(clients)) api.close();
    }

    const resent = clients['HTTP/1.1'].resent + clients['HTTP/2'].resent;
    t.diagnostic(`${counts.ok} answered as expected, ${counts.failed.length} failed, ${resent} sent again on a new connection`);
    assert.ok(counts.ok > 30, `the loops made only ${counts.ok} good requests`);
    assert.deepEqual(counts.failed, [], `${counts.failed.length} failed of ${counts.ok + counts.failed.length} (${resent} sent again on a new connection): ${counts.failed.slice(0, 5).join('; ')}`);

    // With no reload going on, a refusal ends its own stream only: the HTTP/2 connection carries the next request.
    const quiet = http2Client();
    try {
      for (const [request, expected] of [...round(), ...round()]) assert.ok(expected(await quiet.send(request)), `${request.method} ${request.path}`);
      assert.equal(quiet.sessions, 1, 'one HTTP/2 connection for two refusals and the requests after them');
    } finally {
      quiet.close();
    }
  });
});
