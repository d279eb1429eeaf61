import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HostMetrics } from '../domain/shapes.js';
import { commonJsExports } from '../lazy.js';

/** A process's latest counters and gauges, as the metrics sampler keeps them. */
export interface ContainerReading {
  readonly app: string;
  readonly process: string;
  readonly release: number;
  readonly cpuSeconds: number;
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number;
  readonly networkInBytes: number;
  readonly networkOutBytes: number;
  readonly restarts: number;
  readonly startedAt: string | null;
}

/** What the exporter reads at each scrape. */
export interface MetricsSource {
  counters(): readonly ContainerReading[];
  host(): HostMetrics | undefined;
}

export type DeployResult = 'succeeded' | 'failed';

/** Build and rollout take from seconds to many minutes. */
const DEPLOY_BUCKETS = [5, 10, 20, 30, 60, 120, 300, 600, 1200];
const CONTAINER_LABELS = ['app', 'process', 'release'] as const;

/** Prometheus's text format, version 0.0.4 (what prom-client writes). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Registered {
  readonly registry: Registry;
  readonly deploys: Counter<'result'>;
  readonly deployDuration: Histogram<'result'>;
}

/**
 * Pilot's metrics in Prometheus's text format (prom-client, a registry of its own): deploys by
 * result and their duration, each container's CPU, memory, network and restarts from the
 * latest reading of the sampler, the host's, and Pilot's own process (`pilot_process_*`).
 * prom-client is loaded at the first deploy or scrape: a server nobody scrapes does not carry it.
 */
export class PrometheusExporter {
  readonly contentType = PROMETHEUS_CONTENT_TYPE;
  private registered: Promise<Registered> | undefined;

  constructor(private readonly source: MetricsSource) {}

  recordDeploy(result: DeployResult, seconds: number): void {
    void this.metrics().then(({ deploys, deployDuration }) => {
      deploys.inc({ result });
      deployDuration.observe({ result }, seconds);
    });
  }

  async text(): Promise<string> {
    return (await this.metrics()).registry.metrics();
  }

  private metrics(): Promise<Registered> {
    this.registered ??= import('prom-client').then((client) => register(commonJsExports(client, 'Registry'), this.source));
    return this.registered;
  }
}

function register(client: typeof import('prom-client'), source: MetricsSource): Registered {
  const registry = new client.Registry();
  const registers = [registry];
  client.collectDefaultMetrics({ register: registry, prefix: 'pilot_' });
  const deploys = new client.Counter({ name: 'pilot_deploys_total', help: 'Pushes deployed, by result', labelNames: ['result'], registers });
  const deployDuration = new client.Histogram({
    name: 'pilot_deploy_duration_seconds', help: 'Time from a push to its release live (or refused)', labelNames: ['result'], buckets: DEPLOY_BUCKETS, registers,
  });
  for (const result of ['succeeded', 'failed'] as const) deploys.inc({ result }, 0);

  // Counters kept by Docker: each scrape sets them to the latest reading.
  const containerMetric = (kind: 'counter' | 'gauge', name: string, help: string, value: (reading: ContainerReading) => number | undefined) => {
    const collect = function (this: Counter<(typeof CONTAINER_LABELS)[number]> | Gauge<(typeof CONTAINER_LABELS)[number]>): void {
      this.reset();
      for (const reading of source.counters()) {
        const measured = value(reading);
        const labels = { app: reading.app, process: reading.process, release: String(reading.release) };
        if (measured === undefined) continue;
        if (this instanceof client.Counter) this.inc(labels, measured);
        else this.set(labels, measured);
      }
    };
    const options = { name, help, labelNames: CONTAINER_LABELS, registers, collect };
    return kind === 'counter' ? new client.Counter(options) : new client.Gauge(options);
  };
  containerMetric('counter', 'pilot_container_cpu_seconds_total', 'CPU time used by the container since it started', (reading) => reading.cpuSeconds);
  containerMetric('gauge', 'pilot_container_memory_bytes', 'Memory used by the container (page cache it can give back not counted)', (reading) => reading.memoryBytes);
  containerMetric('gauge', 'pilot_container_memory_limit_bytes', "The container's memory limit", (reading) => reading.memoryLimitBytes);
  containerMetric('counter', 'pilot_container_network_receive_bytes_total', 'Bytes the container received', (reading) => reading.networkInBytes);
  containerMetric('counter', 'pilot_container_network_transmit_bytes_total', 'Bytes the container sent', (reading) => reading.networkOutBytes);
  containerMetric('counter', 'pilot_container_restarts_total', 'Restarts of the container by the engine since it was created', (reading) => reading.restarts);
  containerMetric('gauge', 'pilot_container_start_time_seconds', 'When the container last started (Unix time)', (reading) =>
    reading.startedAt ? Date.parse(reading.startedAt) / 1000 : undefined);

  const hostGauge = (name: string, help: string, labelNames: readonly string[], read: (host: HostMetrics, set: (labels: Record<string, string>, value: number) => void) => void) =>
    new client.Gauge({
      name, help, labelNames, registers,
      collect() {
        this.reset();
        const host = source.host();
        if (host) read(host, (labels, value) => this.set(labels, value));
      },
    });
  hostGauge('pilot_host_cpu_usage_ratio', 'Share of all cores busy between the last two readings', [], (host, set) => {
    if (host.cpuPercent !== null) set({}, host.cpuPercent / 100);
  });
  hostGauge('pilot_host_load', 'Load average', ['window'], (host, set) => ['1m', '5m', '15m'].forEach((window, index) => set({ window }, host.load[index] ?? 0)));
  hostGauge('pilot_host_memory_total_bytes', 'Memory of the host', [], (host, set) => set({}, host.memoryTotalBytes));
  hostGauge('pilot_host_memory_available_bytes', 'Memory programs can still get', [], (host, set) => set({}, host.memoryAvailableBytes));
  hostGauge('pilot_host_disk_free_bytes', "Free space of the data directory's and Docker's file systems", ['disk', 'path'], (host, set) => {
    if (host.dataDisk) set({ disk: 'data', path: host.dataDisk.path }, host.dataDisk.freeBytes);
    if (host.dockerDisk) set({ disk: 'docker', path: host.dockerDisk.path }, host.dockerDisk.freeBytes);
  });
  hostGauge('pilot_docker_disk_usage_bytes', "Docker's disk use by kind (system df)", ['kind'], (host, set) => {
    const usage = host.dockerUsage;
    if (!usage) return;
    set({ kind: 'images' }, usage.imagesBytes);
    set({ kind: 'containers' }, usage.containersBytes);
    set({ kind: 'volumes' }, usage.volumesBytes);
    set({ kind: 'build_cache' }, usage.buildCacheBytes);
  });
  return { registry, deploys, deployDuration };
}
