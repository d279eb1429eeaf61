import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntilHealthy, type HealthTiming } from '../../../src/pipeline/healthcheck.js';

const FAST: HealthTiming = { timeoutMs: 2000, firstIntervalMs: 10, maxIntervalMs: 50, requestTimeoutMs: 500 };
const RUNNING = async () => ({ running: true, exitCode: 0 });

/** A real HTTP server on a free port that answers 503 until `ready` is set. */
describe('waitUntilHealthy', () => {
  let server: http.Server;
  let port: number;
  let readyAfter = 0;
  let requests = 0;

  before(async () => {
    server = http.createServer((request, response) => {
      requests += 1;
      if (request.url === '/broken') response.statusCode = 500;
      else response.statusCode = requests > readyAfter ? 200 : 503;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('polls until the app answers 2xx and counts the attempts', async () => {
    requests = 0;
    readyAfter = 3;
    const result = await waitUntilHealthy({ host: '127.0.0.1', port, path: '/', status: RUNNING }, FAST);
    assert.equal(result.attempts, 4);
  });

  it('fails with the last status when the app never becomes healthy', async () => {
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port, path: '/broken', status: RUNNING }, { ...FAST, timeoutMs: 200 }),
      /health check failed: GET \/broken answered 500 after \d+ attempts/,
    );
  });

  it('fails at once with the exit code when the process exited', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    let checks = 0;
    await assert.rejects(
      waitUntilHealthy(
        { host: '127.0.0.1', port: freePort, path: '/', status: async () => ({ running: ++checks < 2, exitCode: 3 }) },
        { ...FAST, timeoutMs: 10_000 },
      ),
      /the app exited with code 3 before answering GET \//,
    );
    assert.equal(checks, 2);
  });

  it('says the app must listen on $PORT when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(
      waitUntilHealthy({ host: '127.0.0.1', port: freePort, path: '/', status: RUNNING }, { ...FAST, timeoutMs: 150 }),
      /refused the connection after \d+ attempts .*must listen on \$PORT/,
    );
  });
});
