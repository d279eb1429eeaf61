import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntilHealthy, type HealthTiming } from '../../../src/pipeline/healthcheck.js';

const FAST: HealthTiming = { timeoutMs: 2000, firstIntervalMs: 10, maxIntervalMs: 50, requestTimeoutMs: 500 };
const RUNNING = async () => ({ running: true, exitCode: 0 });

async function freePort(): Promise<number> {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  return port;
}

/** A real HTTP server on a free port: `/` answers 503 until `readyAfter` requests, the other paths as their names say. */
describe('waitUntilHealthy', () => {
  let server: http.Server;
  let port: number;
  let readyAfter = 0;
  let requests = 0;
  /** When each request arrived (ms since the epoch). */
  let arrivals: number[] = [];

  before(async () => {
    server = http.createServer((request, response) => {
      requests += 1;
      arrivals.push(Date.now());
      if (request.url === '/broken') response.statusCode = 500;
      else if (request.url === '/missing') response.statusCode = 404;
      else if (request.url === '/slow') return void setTimeout(() => response.end('late'), 300);
      else if (request.url === '/body') return void response.end(requests > readyAfter ? 'status: ok' : 'status: starting');
      else response.statusCode = requests > readyAfter ? 200 : 503;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function reset(ready = 0): void {
    requests = 0;
    readyAfter = ready;
    arrivals = [];
  }

  it('polls until the app answers 2xx and counts the attempts', async () => {
    reset(3);
    const result = await waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/' }, FAST);
    assert.equal(result.attempts, 4);
  });

  it('fails with the last status when the app never becomes healthy', async () => {
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/broken' }, { ...FAST, timeoutMs: 200 }),
      /health check failed: GET \/broken answered 500 after \d+ attempts in [\d.]+ s; expected 2xx\/3xx$/,
    );
  });

  it('fails after exactly `attempts` attempts, `wait` apart, and says what it got', async () => {
    reset();
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/missing', attempts: 3, wait: 0.05 }, { ...FAST, timeoutMs: 60_000 }),
      /health check failed: GET \/missing answered 404 after 3 attempts in [\d.]+ s; expected 2xx\/3xx$/,
    );
    assert.equal(requests, 3);
    const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] ?? at));
    for (const gap of gaps) assert.ok(gap >= 45, `attempts ${gaps.join(', ')} ms apart, not the 50 ms wait`);
  });

  it('passes within its attempts when the app becomes healthy in time', async () => {
    reset(2);
    const result = await waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/', attempts: 3, wait: 0.01 }, FAST);
    assert.equal(result.attempts, 3);
  });

  it('waits `initialDelay` before the first attempt', async () => {
    reset();
    const started = Date.now();
    await waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/', initialDelay: 0.1 }, FAST);
    assert.ok((arrivals[0] ?? 0) - started >= 95, `the first request came ${(arrivals[0] ?? 0) - started} ms after the start`);
  });

  it('with `content`, fails a 200 whose body lacks the text and passes once it has it', async () => {
    reset(1000);
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/body', attempts: 2, wait: 0.01, content: 'ok' }, FAST),
      /health check failed: GET \/body answered 200 but the body did not contain "ok" after 2 attempts in [\d.]+ s; expected 2xx\/3xx with "ok" in the body$/,
    );
    reset(1);
    const result = await waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/body', attempts: 3, wait: 0.01, content: 'ok' }, FAST);
    assert.equal(result.attempts, 2);
  });

  it('gives each request `timeout` seconds', async () => {
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/slow', attempts: 1, timeout: 0.05 }, FAST),
      /GET \/slow failed: no answer within 50 ms after 1 attempts/,
    );
    const result = await waitUntilHealthy({ host: '127.0.0.1', port, status: RUNNING }, { path: '/slow', attempts: 1, timeout: 2 }, { ...FAST, requestTimeoutMs: 50 });
    assert.equal(result.attempts, 1);
  });

  it("checks the check's own port over the release's", async () => {
    reset();
    const result = await waitUntilHealthy({ host: '127.0.0.1', port: await freePort(), status: RUNNING }, { path: '/', port, attempts: 1 }, FAST);
    assert.equal(result.attempts, 1);
  });

  it('fails at once with the exit code when the process exited', async () => {
    let checks = 0;
    await assert.rejects(
      waitUntilHealthy(
        { host: '127.0.0.1', port: await freePort(), status: async () => ({ running: ++checks < 2, exitCode: 3 }) },
        { path: '/' },
        { ...FAST, timeoutMs: 10_000 },
      ),
      /the app exited with code 3 before answering GET \//,
    );
    assert.equal(checks, 2);
  });

  it('says the app must listen on $PORT when nothing listens', async () => {
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port: await freePort(), status: RUNNING }, { path: '/' }, { ...FAST, timeoutMs: 150 }),
      /refused the connection after \d+ attempts .*must listen on \$PORT/,
    );
  });
});
