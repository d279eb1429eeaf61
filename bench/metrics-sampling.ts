/**
 * What reading metrics costs Pilot: the CPU time of the MetricsSampler (the one the server
 * runs, on the real Docker runtime) sampling 50 running containers every 10 s, against the same
 * process idle for as long, in the same run.
 */
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import pino from 'pino';
import { createDockerEngine } from '../src/adapters/docker.js';
import { createHostReader } from '../src/adapters/host.js';
import { processLabels, processName } from '../src/domain/process-identity.js';
import { DockerRuntime } from '../src/runtime/docker-runtime.js';
import { MetricsSampler } from '../src/services/metrics.js';
import { removeInstanceObjects, testInstanceName } from '../test/helpers/integration.js';
import { REPEAT, localImages, median, printSection, table, tempDir, type Section } from './lib.js';

const CONTAINERS = 50;
const INTERVAL_SECONDS = 10;
/** Each measured window: this many sampling rounds. */
const WINDOW_SECONDS = Number(process.env.BENCH_METRICS_WINDOW ?? 60);

/** CPU time (user + system) this process spends during `ms` of wall time while `during` runs. */
async function cpuOver(ms: number, during: { start(): void; stop(): Promise<void> }): Promise<number> {
  const before = process.cpuUsage();
  during.start();
  await new Promise((resolve) => setTimeout(resolve, ms));
  await during.stop();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export async function run(): Promise<Section> {
  const docker = new Docker();
  const instance = testInstanceName();
  const image = localImages().staticImage;
  try {
    // 50 processes as Pilot names and labels them, each a shell sleeping (what runs does not change what a stats reading costs).
    await Promise.all(Array.from({ length: CONTAINERS }, async (_, index) => {
      const identity = { app: `app-${Math.floor(index / 2)}`, release: 1, slot: 'blue' as const, type: index % 2 === 0 ? 'web' : 'worker', index: 1 };
      const container = await docker.createContainer({
        name: processName(instance, identity), Image: image, Entrypoint: ['sleep'], Cmd: ['3600'], Labels: processLabels(instance, identity),
        HostConfig: { NetworkMode: 'none', Memory: 64 * 2 ** 20 },
      });
      await container.start();
    }));
    const runtime = new DockerRuntime(createDockerEngine(docker), instance);
    const logger = pino({ level: 'silent' });
    const dataDir = tempDir('bench-metrics');

    const idle = { start: () => undefined, stop: async () => undefined };
    let sampler: MetricsSampler | undefined;
    const sampling = {
      start: () => {
        sampler = new MetricsSampler({ runtime, host: createHostReader(), settings: { dataDir, intervalSeconds: INTERVAL_SECONDS }, logger });
        sampler.start();
      },
      stop: async () => sampler?.stop(),
    };
    // One round first: connections to the engine made, code loaded and compiled.
    sampling.start();
    await sampling.stop();
    if ((sampler?.processes().length ?? 0) !== CONTAINERS) throw new Error(`the sampler read ${sampler?.processes().length} of ${CONTAINERS} containers`);

    const idleMs: number[] = [];
    const samplingMs: number[] = [];
    const roundMs: number[] = [];
    const roundWallMs: number[] = [];
    for (let round = 0; round < REPEAT; round += 1) {
      idleMs.push(await cpuOver(WINDOW_SECONDS * 1000, idle));
      samplingMs.push(await cpuOver(WINDOW_SECONDS * 1000, sampling));
      const started = performance.now();
      const before = process.cpuUsage();
      await sampler?.sample();
      const used = process.cpuUsage(before);
      roundMs.push((used.user + used.system) / 1000);
      roundWallMs.push(performance.now() - started);
      console.error(`round ${round + 1}: idle ${idleMs.at(-1)?.toFixed(0)} ms, sampling ${samplingMs.at(-1)?.toFixed(0)} ms of CPU; one round ${roundMs.at(-1)?.toFixed(1)} ms CPU in ${(performance.now() - started).toFixed(0)} ms`);
    }
    const window = WINDOW_SECONDS * 1000;
    const share = (cpuMs: number): string => `${((cpuMs / window) * 100).toFixed(3)}%`;
    const idleCpu = median(idleMs);
    const samplingCpu = median(samplingMs);
    const cost = ((samplingCpu - idleCpu) / window) * 100;
    return {
      title: 'Metrics: what sampling 50 containers costs Pilot',
      body: [
        `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:metrics-sampling\` (other work may share the machine: the idle window is the baseline).`,
        '',
        `The server's \`MetricsSampler\` on the real Docker runtime reads ${CONTAINERS} running containers (stats and`,
        `inspect of each, 8 at a time) and the host every ${INTERVAL_SECONDS} s. CPU time (user + system) of the process over`,
        `${WINDOW_SECONDS} s windows, sampling and idle alternating, median of ${REPEAT}; the Docker engine's own work is not counted.`,
        '',
        table(['window', 'CPU ms', 'share of one core', 'vs idle'], [
          ['idle (baseline)', idleCpu.toFixed(0), share(idleCpu), '1.00'],
          [`sampling every ${INTERVAL_SECONDS} s`, samplingCpu.toFixed(0), share(samplingCpu), (samplingCpu / Math.max(idleCpu, 1)).toFixed(2)],
        ]),
        '',
        `One round of ${CONTAINERS} containers: ${median(roundMs).toFixed(1)} ms of CPU, ${(median(roundWallMs) / 1000).toFixed(1)} s of waiting for the engine. Sampling's cost: ${cost.toFixed(3)}% of one core`,
        `(sampling minus idle). Target: under 2%. Result: ${cost < 2 ? 'met' : 'missed'}.`,
      ].join('\n'),
    };
  } finally {
    await removeInstanceObjects(instance, docker);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
