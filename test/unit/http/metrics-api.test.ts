import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusExporter } from '../../../src/adapters/prometheus.js';
import type { ProcessMetrics } from '../../../src/domain/shapes.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';

function reading(app: string, process: string): ProcessMetrics {
  return {
    app, process, release: 2, container: `pt-${app}-${process}`, sampledAt: '2026-12-01T12:00:00.000Z', cpuPercent: 12.5, memoryBytes: 1000, memoryLimitBytes: 4000,
    networkInBytes: 1, networkOutBytes: 2, restarts: 0, startedAt: '2026-12-01T11:00:00.000Z', uptimeSeconds: 3600, history: [],
  };
}

/** The API with a metrics source of two apps' processes and the real Prometheus exporter over it. */
async function metricsApp(t: Parameters<typeof buildTestApp>[0]) {
  const all = [reading('a', 'web.1'), reading('b', 'web.1')];
  const source = {
    host: () => undefined,
    processes: (filter: { app?: string } = {}) => all.filter((process) => filter.app === undefined || process.app === filter.app),
    counters: () => all.map((process) => ({ ...process, cpuSeconds: 7 })),
  };
  const prometheus = new PrometheusExporter(source);
  prometheus.recordDeploy('succeeded', 12);
  return buildTestApp(t, { apps: ['a', 'b'], replace: () => ({ metrics: source, prometheus }) });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('metrics over HTTP', () => {
  it('/metrics is Prometheus text for an admin token only', async (t) => {
    const { app, deployToken } = await metricsApp(t);
    assert.equal((await app.inject({ url: '/metrics' })).statusCode, 401);
    const refused = await app.inject({ url: '/metrics', headers: bearer(deployToken('a')) });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json<{ message: string }>().message, /needs an admin token/);
    const answer = await app.inject({ url: '/metrics', headers: bearer(TEST_ADMIN_TOKEN) });
    assert.equal(answer.statusCode, 200);
    assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(answer.body, /^pilot_deploys_total\{result="succeeded"\} 1$/m);
    assert.match(answer.body, /^pilot_container_cpu_seconds_total\{app="b",process="web\.1",release="2"\} 7$/m);
  });

  it("GET /api/v1/metrics is the admin's view of every process; an app's metrics are its deploy token's too, and only its own", async (t) => {
    const { app, deployToken } = await metricsApp(t);
    const all = await app.inject({ url: '/api/v1/metrics?history=10s', headers: bearer(TEST_ADMIN_TOKEN) });
    assert.equal(all.statusCode, 200);
    assert.deepEqual(all.json<{ processes: ProcessMetrics[] }>().processes.map((process) => process.app), ['a', 'b']);
    assert.equal((await app.inject({ url: '/api/v1/metrics', headers: bearer(deployToken('a')) })).statusCode, 403);
    const own = await app.inject({ url: '/api/v1/apps/a/metrics', headers: bearer(deployToken('a')) });
    assert.equal(own.statusCode, 200);
    assert.deepEqual(own.json<{ processes: ProcessMetrics[] }>().processes.map((process) => `${process.app} ${process.process}`), ['a web.1']);
    assert.equal((await app.inject({ url: '/api/v1/apps/b/metrics', headers: bearer(deployToken('a')) })).statusCode, 403);
    const wrong = await app.inject({ url: '/api/v1/metrics?history=1h', headers: bearer(TEST_ADMIN_TOKEN) });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.json<{ message: string }>().message, /history/);
  });
});
