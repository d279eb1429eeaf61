import type { Logger } from 'pino';
import type { AppProcess, AppRuntime, EngineDiskUsage, HostReader, HostReading } from '../domain/ports.js';
import { processLabel } from '../domain/process-identity.js';
import type { DiskSpace, HostMetrics, MetricsResolution, ProcessMetrics } from '../domain/shapes.js';

export interface SamplerSettings {
  /** Where Pilot keeps its data: its file system's free space is watched. */
  readonly dataDir: string;
  /** How often every process and the host are read (PILOT_METRICS_INTERVAL); 0: never by itself. */
  readonly intervalSeconds: number;
}

export interface SamplerDeps {
  readonly runtime: Pick<AppRuntime, 'list' | 'inspect' | 'stats' | 'diskUsage'>;
  readonly host: HostReader;
  readonly settings: SamplerSettings;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The kept history: a point every `stepMs`, the last `capacity` of them (one hour at 10 s, a day at 5 min). */
export const RESOLUTIONS: Readonly<Record<MetricsResolution, { readonly stepMs: number; readonly capacity: number }>> = {
  '10s': { stepMs: 10_000, capacity: 360 },
  '5m': { stepMs: 300_000, capacity: 288 },
};

/** At most this many processes have a history; those seen longest ago go first. */
const MAX_SERIES = 500;
/** A process not seen for this long loses its history. */
const SERIES_RETENTION_MS = 24 * 3600_000;
/** Docker's `system df` walks every image and volume: read this often, apart from the rounds. */
const DISK_USAGE_INTERVAL_MS = 300_000;
/** Stats requests to the engine at once. */
const CONCURRENCY = 8;

/**
 * A fixed number of points of fixed fields, oldest overwritten first, in one typed array: a day
 * of history of hundreds of processes stays a few megabytes. NaN stands for "unknown".
 */
class Ring<F extends string> {
  private readonly data: Float64Array;
  private start = 0;
  private size = 0;

  constructor(private readonly fields: readonly F[], private readonly capacity: number) {
    this.data = new Float64Array(capacity * fields.length);
  }

  push(point: Readonly<Record<F, number>>): void {
    const slot = (this.start + this.size) % this.capacity;
    this.fields.forEach((field, column) => (this.data[slot * this.fields.length + column] = point[field]));
    if (this.size < this.capacity) this.size += 1;
    else this.start = (this.start + 1) % this.capacity;
  }

  points(): Record<F, number | null>[] {
    const points: Record<F, number | null>[] = [];
    for (let index = 0; index < this.size; index += 1) {
      const slot = (this.start + index) % this.capacity;
      const point = {} as Record<F, number | null>;
      this.fields.forEach((field, column) => {
        const value = this.data[slot * this.fields.length + column] ?? Number.NaN;
        point[field] = Number.isNaN(value) ? null : value;
      });
      points.push(point);
    }
    return points;
  }
}

const PROCESS_FIELDS = ['time', 'cpuPercent', 'memoryBytes', 'networkInBytes', 'networkOutBytes', 'restarts'] as const;
const HOST_FIELDS = ['time', 'cpuPercent', 'memoryUsedBytes', 'load1'] as const;

/** What a rate is computed from: the counter and the time of the point before. */
interface Mark {
  readonly time: number;
  readonly value: number;
  /** The process (container) the counter belongs to: a new one starts from 0. */
  readonly of: string;
}

/** A ring per resolution, each with the mark its CPU rate is computed from. */
class Series<F extends string> {
  readonly rings: Record<MetricsResolution, { ring: Ring<F>; mark: Mark | undefined }>;
  lastSeen = 0;

  constructor(fields: readonly F[]) {
    this.rings = {
      '10s': { ring: new Ring(fields, RESOLUTIONS['10s'].capacity), mark: undefined },
      '5m': { ring: new Ring(fields, RESOLUTIONS['5m'].capacity), mark: undefined },
    };
  }

  /** Adds the point to each resolution whose step has passed; `point` gets the CPU rate since that resolution's last point. */
  add(time: number, counter: { value: number; of: string }, point: (cpuPercent: number) => Readonly<Record<F, number>>): void {
    this.lastSeen = time;
    for (const resolution of Object.keys(this.rings) as MetricsResolution[]) {
      const entry = this.rings[resolution];
      // One point per step of the clock (0:00, 0:05, ... for 5 min), so rounds a little late do not drift.
      const step = RESOLUTIONS[resolution].stepMs;
      if (entry.mark && Math.floor(time / step) <= Math.floor(entry.mark.time / step)) continue;
      entry.ring.push(point(rate(entry.mark, time, counter)));
      entry.mark = { time, value: counter.value, of: counter.of };
    }
  }
}

/** Percent of one core used between the mark and now; NaN without a mark of the same process. */
function rate(mark: Mark | undefined, time: number, counter: { value: number; of: string }): number {
  if (!mark || mark.of !== counter.of || time <= mark.time || counter.value < mark.value) return Number.NaN;
  return ((counter.value - mark.value) / ((time - mark.time) / 1000)) * 100;
}

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);

/** A process's latest reading: what is shown, and the CPU counter the next rate starts from. */
interface Latest {
  readonly shown: Omit<ProcessMetrics, 'history'>;
  readonly cpuSeconds: number;
}

/**
 * Reads every process's stats and the host on an interval and keeps the latest reading of
 * each with a bounded history (one hour at 10 s, a day at 5 min, MAX_SERIES processes), for
 * `pilot ps`, `pilot metrics`, the API and Prometheus. One round at a time: a slow engine
 * makes rounds later, never piles them up.
 */
export class MetricsSampler {
  private readonly now: () => number;
  private latest = new Map<string, Latest>();
  private readonly series = new Map<string, Series<(typeof PROCESS_FIELDS)[number]>>();
  private readonly hostSeries = new Series(HOST_FIELDS);
  private hostLatest: Omit<HostMetrics, 'history'> | undefined;
  private hostMark: HostReading | undefined;
  private disk: { usage: EngineDiskUsage; readAt: number } | undefined;
  private diskReading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(private readonly deps: SamplerDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.deps.settings.intervalSeconds <= 0 || this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.deps.settings.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
    await this.diskReading;
  }

  /** One round: every process of the instance, then the host. A round under way is joined, not doubled. */
  sample(): Promise<void> {
    this.sampling ??= this.sampleNow()
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'reading metrics failed'))
      .finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  /** The latest reading of a process by its runtime id (none before its first round). */
  ofProcess(id: string): Omit<ProcessMetrics, 'history'> | undefined {
    return this.latest.get(id)?.shown;
  }

  /** The latest reading of each process (of one app when given), with its history at `resolution` if asked for. */
  processes(filter: { app?: string; history?: MetricsResolution } = {}): ProcessMetrics[] {
    return [...this.latest.values()]
      .map((latest) => latest.shown)
      .filter((process) => filter.app === undefined || process.app === filter.app)
      .map((shown) => {
        const history = filter.history ? (this.series.get(seriesKey(shown.app, shown.process))?.rings[filter.history].ring.points() ?? []) : [];
        return { ...shown, history: history.map((point) => ({ ...point, time: new Date(point.time ?? 0).toISOString() })) };
      });
  }

  /** Each process's latest reading with its CPU time since it started, for Prometheus. */
  counters(): (Omit<ProcessMetrics, 'history'> & { readonly cpuSeconds: number })[] {
    return [...this.latest.values()].map((latest) => ({ ...latest.shown, cpuSeconds: latest.cpuSeconds }));
  }

  host(history?: MetricsResolution): HostMetrics | undefined {
    if (!this.hostLatest) return undefined;
    const points = history ? this.hostSeries.rings[history].ring.points() : [];
    return { ...this.hostLatest, history: points.map((point) => ({ ...point, time: new Date(point.time ?? 0).toISOString() })) };
  }

  private async sampleNow(): Promise<void> {
    const time = this.now();
    const processes = await this.deps.runtime.list();
    const readings = await inBatches(processes, CONCURRENCY, (process) => this.readProcess(process, time));
    const latest = new Map<string, Latest>();
    readings.forEach((reading, index) => {
      const process = processes[index];
      if (reading && process) latest.set(process.id, reading);
    });
    this.latest = latest;
    this.forgetOldSeries(time);
    await this.readHost(time);
  }

  private async readProcess(listed: AppProcess, time: number): Promise<Latest | undefined> {
    const [stats, process] = await Promise.all([this.deps.runtime.stats(listed.id), this.deps.runtime.inspect(listed.id)]);
    if (!stats || !process) return undefined;
    const label = processLabel(process.identity);
    const key = seriesKey(process.identity.app, label);
    const series = this.series.get(key) ?? new Series(PROCESS_FIELDS);
    this.series.set(key, series);
    const previous = this.latest.get(process.id);
    const cpuPercent = previous ? rate({ time: Date.parse(previous.shown.sampledAt), value: previous.cpuSeconds, of: process.id }, time, { value: stats.cpuSeconds, of: process.id }) : Number.NaN;
    series.add(time, { value: stats.cpuSeconds, of: process.id }, (ringCpu) => ({
      time,
      cpuPercent: ringCpu,
      memoryBytes: stats.memoryBytes,
      networkInBytes: stats.networkInBytes,
      networkOutBytes: stats.networkOutBytes,
      restarts: process.restartCount,
    }));
    const startedAt = process.running ? (process.startedAt ?? null) : null;
    const shown = {
      app: process.identity.app,
      process: label,
      release: process.identity.release,
      container: process.name,
      sampledAt: new Date(time).toISOString(),
      cpuPercent: orNull(round(cpuPercent)),
      memoryBytes: stats.memoryBytes,
      memoryLimitBytes: stats.memoryLimitBytes,
      networkInBytes: stats.networkInBytes,
      networkOutBytes: stats.networkOutBytes,
      restarts: process.restartCount,
      startedAt,
      uptimeSeconds: startedAt ? Math.max(0, Math.round((time - Date.parse(startedAt)) / 1000)) : null,
    };
    return { shown, cpuSeconds: stats.cpuSeconds };
  }

  private async readHost(time: number): Promise<void> {
    const reading = this.deps.host.read();
    const mark = this.hostMark;
    const busy = mark ? reading.cpuBusySeconds - mark.cpuBusySeconds : 0;
    const total = mark ? reading.cpuTotalSeconds - mark.cpuTotalSeconds : 0;
    const cpuPercent = total > 0 ? (busy / total) * 100 : Number.NaN;
    this.hostMark = reading;
    if (!this.disk || time - this.disk.readAt >= DISK_USAGE_INTERVAL_MS) this.readDiskUsage(time);
    const rootDir = this.disk?.usage.rootDir;
    const [data, docker] = await Promise.all([this.space(this.deps.settings.dataDir), rootDir ? this.space(rootDir) : undefined]);
    const memoryUsedBytes = reading.memoryTotalBytes - reading.memoryAvailableBytes;
    // The host's ring keeps the CPU share measured over the round, not a rate of its own.
    this.hostSeries.add(time, { value: 0, of: 'host' }, () => ({ time, cpuPercent, memoryUsedBytes, load1: reading.load[0] }));
    const usage = this.disk?.usage;
    this.hostLatest = {
      sampledAt: new Date(time).toISOString(),
      cpus: reading.cpus,
      cpuPercent: orNull(round(cpuPercent)),
      load: [round(reading.load[0], 2), round(reading.load[1], 2), round(reading.load[2], 2)],
      memoryTotalBytes: reading.memoryTotalBytes,
      memoryAvailableBytes: reading.memoryAvailableBytes,
      dataDisk: data ?? null,
      dockerDisk: docker ?? null,
      dockerUsage: usage
        ? { imagesBytes: usage.imagesBytes, containersBytes: usage.containersBytes, volumesBytes: usage.volumesBytes, buildCacheBytes: usage.buildCacheBytes }
        : null,
    };
  }

  /** Docker's disk use, read in the background: `system df` can take seconds on a full engine. */
  private readDiskUsage(time: number): void {
    if (this.diskReading) return;
    this.diskReading = this.deps.runtime.diskUsage()
      .then((usage) => void (this.disk = { usage, readAt: time }))
      .catch((error: unknown) => {
        this.deps.logger.debug({ err: error }, "reading Docker's disk use failed");
        this.disk = this.disk ? { ...this.disk, readAt: time } : undefined;
      })
      .finally(() => (this.diskReading = undefined));
  }

  private async space(path: string): Promise<DiskSpace | undefined> {
    const space = await this.deps.host.diskSpace(path).catch(() => undefined);
    return space ? { path, ...space } : undefined;
  }

  private forgetOldSeries(time: number): void {
    for (const [key, series] of this.series) if (time - series.lastSeen > SERIES_RETENTION_MS) this.series.delete(key);
    if (this.series.size <= MAX_SERIES) return;
    const oldest = [...this.series].sort((a, b) => a[1].lastSeen - b[1].lastSeen).slice(0, this.series.size - MAX_SERIES);
    for (const [key] of oldest) this.series.delete(key);
  }
}

function seriesKey(app: string, process: string): string {
  return `${app}/${process}`;
}

/** Runs `work` over the items, at most `limit` at once, results in the items' order. */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array<R | undefined>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
