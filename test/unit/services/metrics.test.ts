import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { buildCore, type Core } from '../../helpers/core.js';
import { MetricsSampler, RESOLUTIONS } from '../../../src/services/metrics.js';
import { PrometheusExporter } from '../../../src/adapters/prometheus.js';
import { engineDiskUsage, processStats } from '../../../src/adapters/docker/stats.js';
import type { HostReader, HostReading } from '../../../src/domain/ports.js';
import { processLabel } from '../../../src/domain/process-identity.js';
import { ProcessControl } from '../../../src/services/processes.js';

/** A host whose readings a test sets; its disks have fixed sizes. */
class FakeHost implements HostReader {
  reading: HostReading = { cpus: 2, cpuBusySeconds: 100, cpuTotalSeconds: 400, load: [0.5, 0.25, 0.125], memoryTotalBytes: 4e9, memoryAvailableBytes: 3e9 };
  read(): HostReading {
    return this.reading;
  }
  async diskSpace(path: string) {
    if (path === '/missing') throw new Error('ENOENT');
    return { freeBytes: path === '/var/lib/docker' ? 20e9 : 10e9, totalBytes: 50e9 };
  }
}

/** A sampler over the fake runtime, on a clock the test moves. */
async function sampled(): Promise<{ core: Core; sampler: MetricsSampler; host: FakeHost; clock: { now: number }; ids: Map<string, string> }> {
  const core = buildCore();
  const app = core.apps.create('shop');
  core.formation.set(app.id, { web: 2, worker: 1 });
  await core.liveRelease(app, { processes: { web: null, worker: 'node worker.js' } });
  const clock = { now: Date.parse('2026-12-01T12:00:00Z') };
  const host = new FakeHost();
  const sampler = new MetricsSampler({
    runtime: core.runtime, host, settings: { dataDir: '/data', intervalSeconds: 0 }, logger: pino({ level: 'silent' }), now: () => clock.now,
  });
  const ids = new Map((await core.runtime.list({ app: 'shop' })).map((process) => [processLabel(process.identity), process.id]));
  return { core, sampler, host, clock, ids };
}

function use(core: Core, id: string | undefined, cpuSeconds: number, memoryBytes = 64 * 2 ** 20): void {
  assert.ok(id);
  core.runtime.usage.set(id, { cpuSeconds, memoryBytes, memoryLimitBytes: 512 * 2 ** 20, networkInBytes: cpuSeconds * 1000, networkOutBytes: cpuSeconds * 2000 });
}

describe('metrics sampler (fake runtime and host)', () => {
  it("reads every process's CPU, memory, network, restarts and uptime; CPU is the share of one core since the reading before", async () => {
    const { core, sampler, clock, ids } = await sampled();
    use(core, ids.get('web.1'), 10);
    use(core, ids.get('worker.1'), 2);
    await sampler.sample();
    const first = sampler.processes({ app: 'shop' });
    assert.deepEqual(first.map((process) => process.process), ['web.1', 'web.2', 'worker.1']);
    assert.equal(first[0]?.cpuPercent, null, 'no rate from one reading');
    assert.equal(first[0]?.memoryBytes, 64 * 2 ** 20);
    assert.equal(first[0]?.memoryLimitBytes, 512 * 2 ** 20);

    clock.now += 10_000;
    use(core, ids.get('web.1'), 15); // 5 s of CPU in 10 s: half a core
    use(core, ids.get('worker.1'), 2.1);
    core.runtime.set(ids.get('worker.1') ?? '', { restartCount: 2 });
    await sampler.sample();
    const [web1, , worker1] = sampler.processes({ app: 'shop' });
    assert.equal(web1?.cpuPercent, 50);
    assert.equal(web1?.networkInBytes, 15_000);
    assert.equal(web1?.networkOutBytes, 30_000);
    assert.equal(worker1?.cpuPercent, 1);
    assert.equal(worker1?.restarts, 2);
    assert.ok((web1?.uptimeSeconds ?? -1) >= 0);
    assert.equal(web1?.release, 1);
    assert.deepEqual(sampler.ofProcess(ids.get('web.1') ?? '')?.cpuPercent, 50);
  });

  it('keeps an hour at 10 s and a day at 5 min, bounded; the 5-minute CPU is the average over its 5 minutes', async () => {
    const { core, sampler, clock, ids } = await sampled();
    const rounds = RESOLUTIONS['10s'].capacity + 40;
    for (let round = 0; round < rounds; round += 1) {
      // Busy for the first 5 minutes (a full core), idle after.
      use(core, ids.get('web.1'), Math.min(round, 30) * 10);
      await sampler.sample();
      clock.now += 10_000;
    }
    const [fine] = sampler.processes({ app: 'shop', history: '10s' });
    assert.equal(fine?.history.length, RESOLUTIONS['10s'].capacity, 'the oldest points of the hour are dropped');
    assert.equal(fine?.history.at(-1)?.cpuPercent, 0);
    const [coarse] = sampler.processes({ app: 'shop', history: '5m' });
    const points = coarse?.history ?? [];
    assert.equal(points.length, Math.floor(((rounds - 1) * 10) / 300) + 1);
    assert.equal(points[0]?.cpuPercent, null);
    assert.equal(points[1]?.cpuPercent, 100, 'a full core over the first five minutes');
    assert.equal(points[2]?.cpuPercent, 0);
    assert.deepEqual(sampler.processes({ app: 'shop' })[0]?.history, [], 'no history unless asked for');
  });

  it('forgets a process that is gone; a new process in the same place starts its rate afresh', async () => {
    const { core, sampler, clock, ids } = await sampled();
    const app = core.apps.findByName('shop');
    assert.ok(app);
    use(core, ids.get('web.1'), 100);
    await sampler.sample();
    // A web restart: new processes in the other slot, the old ones retire.
    await new ProcessControl({ ...core, settings: core.settings }).act(app, 'restart');
    await core.rollout.settle();
    clock.now += 10_000;
    const restarted = new Map((await core.runtime.list({ app: 'shop' })).map((process) => [processLabel(process.identity), process.id]));
    use(core, restarted.get('web.1'), 1);
    await sampler.sample();
    assert.equal(sampler.ofProcess(ids.get('web.1') ?? ''), undefined, 'the retired process has no reading');
    const web1 = sampler.processes({ app: 'shop' }).find((process) => process.process === 'web.1');
    assert.equal(web1?.cpuPercent, null, 'no rate across two processes');
    const history = sampler.processes({ app: 'shop', history: '10s' }).find((process) => process.process === 'web.1')?.history ?? [];
    assert.equal(history.length, 2, 'web.1 keeps one history across the restart');
  });

  it("reads the host's CPU, memory, load and disks, and Docker's disk use", async () => {
    const { sampler, host, clock } = await sampled();
    await sampler.sample();
    clock.now += 10_000;
    host.reading = { ...host.reading, cpuBusySeconds: 105, cpuTotalSeconds: 420 };
    await sampler.sample();
    const read = sampler.host('10s');
    assert.equal(read?.cpuPercent, 25);
    assert.equal(read?.cpus, 2);
    assert.deepEqual(read?.load, [0.5, 0.25, 0.13]);
    assert.equal(read?.memoryAvailableBytes, 3e9);
    assert.deepEqual(read?.dataDisk, { path: '/data', freeBytes: 10e9, totalBytes: 50e9 });
    assert.deepEqual(read?.dockerDisk, { path: '/var/lib/docker', freeBytes: 20e9, totalBytes: 50e9 });
    assert.deepEqual(read?.dockerUsage, { imagesBytes: 3e9, containersBytes: 2e6, volumesBytes: 5e8, buildCacheBytes: 1e9 });
    assert.equal(read?.history.length, 2);
    assert.equal(read?.history[1]?.memoryUsedBytes, 1e9);
  });

  it('one round at a time: a round asked for during another joins it', async () => {
    const { core, sampler } = await sampled();
    await Promise.all([sampler.sample(), sampler.sample(), sampler.sample()]);
    assert.equal(core.runtime.statsReadings, 3, 'three processes read once');
  });

  it('pilot ps shows the latest CPU and memory of each process', async () => {
    const { core, sampler, clock, ids } = await sampled();
    const app = core.apps.findByName('shop');
    assert.ok(app);
    use(core, ids.get('web.1'), 1, 100 * 2 ** 20);
    await sampler.sample();
    clock.now += 10_000;
    use(core, ids.get('web.1'), 3, 120 * 2 ** 20);
    await sampler.sample();
    const processes = new ProcessControl({ ...core, settings: core.settings, usage: (id) => sampler.ofProcess(id) });
    const [web1] = await processes.list(app);
    assert.equal(web1?.cpuPercent, 20);
    assert.equal(web1?.memoryBytes, 120 * 2 ** 20);
    assert.equal(web1?.memoryLimitBytes, 512 * 2 ** 20);
  });
});

describe('Prometheus text (prom-client)', () => {
  it('has deploys by result with their durations, every container metric with its labels, the host and Pilot itself', async () => {
    const { core, sampler, clock, ids } = await sampled();
    use(core, ids.get('web.1'), 12.5);
    core.runtime.set(ids.get('web.1') ?? '', { restartCount: 3 });
    await sampler.sample();
    clock.now += 10_000;
    await sampler.sample();
    const exporter = new PrometheusExporter(sampler);
    exporter.recordDeploy('succeeded', 42);
    exporter.recordDeploy('failed', 3);
    const text = await exporter.text();
    assert.match(exporter.contentType, /^text\/plain/);
    assert.match(text, /^pilot_deploys_total\{result="succeeded"\} 1$/m);
    assert.match(text, /^pilot_deploys_total\{result="failed"\} 1$/m);
    assert.match(text, /^# TYPE pilot_deploy_duration_seconds histogram$/m);
    assert.match(text, /^pilot_deploy_duration_seconds_bucket\{le="60",result="succeeded"\} 1$/m);
    assert.match(text, /^pilot_deploy_duration_seconds_bucket\{le="30",result="succeeded"\} 0$/m);
    assert.match(text, /^# TYPE pilot_container_cpu_seconds_total counter$/m);
    assert.match(text, /^pilot_container_cpu_seconds_total\{app="shop",process="web\.1",release="1"\} 12\.5$/m);
    assert.match(text, /^pilot_container_memory_bytes\{app="shop",process="web\.1",release="1"\} 67108864$/m);
    assert.match(text, /^pilot_container_memory_limit_bytes\{app="shop",process="web\.1",release="1"\} 536870912$/m);
    assert.match(text, /^pilot_container_restarts_total\{app="shop",process="web\.1",release="1"\} 3$/m);
    assert.match(text, /^pilot_container_network_receive_bytes_total\{app="shop",process="worker\.1",release="1"\} 0$/m);
    assert.match(text, /^pilot_host_memory_available_bytes 3000000000$/m);
    assert.match(text, /^pilot_host_disk_free_bytes\{disk="data",path="\/data"\} 10000000000$/m);
    assert.match(text, /^pilot_docker_disk_usage_bytes\{kind="build_cache"\} 1000000000$/m);
    assert.match(text, /^pilot_host_load\{window="1m"\} 0\.5$/m);
    assert.match(text, /^pilot_process_resident_memory_bytes \d+$/m);
  });
});

describe("Docker's stats and disk use as Pilot reads them", () => {
  it('memory without the page cache the kernel can take back (cgroup v2 and v1), network over every interface; a stopped container has none', () => {
    const v2 = processStats({
      cpu_stats: { cpu_usage: { total_usage: 2_500_000_000 } },
      memory_stats: { usage: 100_000, limit: 1_000_000, stats: { inactive_file: 30_000 } },
      networks: { eth0: { rx_bytes: 10, tx_bytes: 20 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
    });
    assert.deepEqual(v2, { cpuSeconds: 2.5, memoryBytes: 70_000, memoryLimitBytes: 1_000_000, networkInBytes: 11, networkOutBytes: 22 });
    const v1 = processStats({ cpu_stats: { cpu_usage: { total_usage: 1e9 } }, memory_stats: { usage: 50_000, limit: 80_000, stats: { total_inactive_file: 10_000 } } });
    assert.equal(v1?.memoryBytes, 40_000);
    assert.equal(v1?.networkInBytes, 0);
    assert.equal(processStats({ read: '0001-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: {} }), undefined);
  });

  it("sums Docker's disk use by kind, an unknown size (-1) counting as 0", () => {
    assert.deepEqual(
      engineDiskUsage({ LayersSize: 900, Containers: [{ SizeRw: 5 }, { SizeRw: 7 }], Volumes: [{ UsageData: { Size: -1 } }, { UsageData: { Size: 40 } }, { UsageData: null }], BuildCache: null }, '/var/lib/docker'),
      { rootDir: '/var/lib/docker', imagesBytes: 900, containersBytes: 12, volumesBytes: 40, buildCacheBytes: 0 },
    );
  });
});
