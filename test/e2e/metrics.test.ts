import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot } from '../helpers/cli.js';
import type { MetricsView, ProcessMetrics, ProcessView } from '../../src/domain/shapes.js';

const skip = integrationSkipReason();

describe("metrics from Docker's stats: pilot ps, pilot metrics, the API and Prometheus (real Docker, Caddy, git)", { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot({ PILOT_METRICS_INTERVAL: '1' });
    client = new GitClient(tempDir('busy'));
    await client.init();
    await client.commit({
      'package.json': JSON.stringify({ name: 'busy', version: '1.0.0' }),
      Procfile: 'web: node server.js\nworker: node worker.js\n',
      'app.json': JSON.stringify({ formation: { worker: { quantity: 1 } } }),
      'server.js': "const kept = Buffer.alloc(32 * 1024 * 1024, 1);\nrequire('http').createServer((request, response) => response.end('ok ' + kept.length)).listen(process.env.PORT);\n",
      // Busy about half the time: its CPU shows.
      'worker.js': 'setInterval(() => { const end = Date.now() + 50; while (Date.now() < end); }, 100);\n',
    });
    const pushed = await pilot.push(client, 'busy');
    assert.equal(pushed.code, 0, pushed.stderr);
  });
  after(async () => {
    await pilot?.close();
  });

  const env = () => ({ PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token, HOME: tempDir('metrics-home') });
  async function ok(args: string[]): Promise<string> {
    const result = await runPilot(args, client.workDir, env());
    assert.equal(result.code, 0, `pilot ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  it('pilot metrics -a shows each process: the busy worker uses CPU, the web process the memory it holds, under its limit', async () => {
    const processes = await waitFor('a CPU rate of every process', async () => {
      const read = JSON.parse(await ok(['metrics', '-a', 'busy', '--json'])) as ProcessMetrics[];
      return read.length === 2 && read.every((process) => process.cpuPercent !== null) ? read : undefined;
    }, 30_000);
    const [web, worker] = processes;
    assert.equal(web?.process, 'web.1');
    assert.equal(worker?.process, 'worker.1');
    assert.ok((worker?.cpuPercent ?? 0) > 1, `the worker's CPU: ${worker?.cpuPercent}%`);
    assert.ok((worker?.cpuPercent ?? 0) > (web?.cpuPercent ?? 0), 'the busy worker uses more CPU than the idle web process');
    assert.ok((web?.memoryBytes ?? 0) > 32 * 2 ** 20, `web's memory: ${web?.memoryBytes}`);
    assert.equal(web?.memoryLimitBytes, 256 * 2 ** 20, 'PILOT_APP_MEMORY');
    assert.equal(web?.restarts, 0);
    assert.ok((web?.uptimeSeconds ?? -1) >= 0);
    await pilot.get('busy', '/');
    const history = JSON.parse(await ok(['metrics', '-a', 'busy', '--json'])) as ProcessMetrics[];
    assert.ok(history.every((process) => process.history.length === 0), 'no history unless asked for');

    const table = await ok(['ps', '-a', 'busy']);
    assert.match(table, /process\s+release\s+state\s+health\s+uptime\s+restarts\s+cpu\s+memory/i);
    assert.match(table, /web\.1\s+v1\s+running\s+(unknown|healthy|unhealthy)\s+\S+\s+0\s+\d+\.\d%\s+\d+\.\d MiB \/ 256\.0 MiB/);
  });

  it("pilot metrics shows the host and Docker's disk use; the API keeps a history", async () => {
    const view = await waitFor("the host's CPU and Docker's disk use", async () => {
      const read = JSON.parse(await ok(['metrics', '--json'])) as MetricsView;
      return read.host?.cpuPercent !== null && read.host?.dockerUsage ? read : undefined;
    }, 30_000);
    assert.ok((view.host?.memoryTotalBytes ?? 0) > 0);
    assert.equal(view.host?.dataDisk?.path, pilot.server.config.dataDir);
    assert.ok((view.host?.dataDisk?.freeBytes ?? 0) > 0);
    assert.ok((view.host?.dockerUsage?.imagesBytes ?? 0) > 0, 'the app image at least');
    assert.ok(view.processes.some((process) => process.app === 'busy'));
    const text = await ok(['metrics']);
    assert.match(text, /^CPU: .* of \d+ cores, load /m);
    assert.match(text, /busy\s+worker\.1\s+v1\s+\d+\.\d%/);
    // A point every 10 s of the clock: two within 20 s.
    await waitFor('two points of history', async () => {
      const answer = await fetch(`${pilot.server.address}/api/v1/apps/busy/metrics?history=10s`, { headers: { authorization: `Bearer ${pilot.token}` } });
      const { processes } = (await answer.json()) as { processes: ProcessMetrics[] };
      return (processes[0]?.history.length ?? 0) >= 2 ? true : undefined;
    }, 30_000);
  });

  it('/metrics is Prometheus text with the deploy and the containers, for an admin token only', async () => {
    const scrape = (token?: string) => fetch(`${pilot.server.address}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    assert.equal((await scrape()).status, 401);
    const answer = await scrape(pilot.token);
    assert.equal(answer.status, 200);
    const text = await answer.text();
    assert.match(text, /^pilot_deploys_total\{result="succeeded"\} 1$/m);
    assert.match(text, /^pilot_deploy_duration_seconds_count\{result="succeeded"\} 1$/m);
    const cpu = /^pilot_container_cpu_seconds_total\{app="busy",process="worker\.1",release="1"\} ([\d.e+-]+)$/m.exec(text);
    assert.ok(Number(cpu?.[1]) > 0, `the worker's CPU seconds: ${cpu?.[0]}`);
    assert.match(text, /^pilot_container_memory_bytes\{app="busy",process="web\.1",release="1"\} \d+$/m);
    assert.match(text, /^pilot_container_restarts_total\{app="busy",process="web\.1",release="1"\} 0$/m);
    const processes = JSON.parse(await ok(['ps', '-a', 'busy', '--json'])) as ProcessView[];
    assert.ok(processes.every((process) => process.memoryBytes !== null && process.cpuPercent !== null));
  });
});
