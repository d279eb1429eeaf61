import type {
  AppProcess, AppRuntime, AttachedProcess, CheckSettings, CheckedProcess, EngineDiskUsage, HealthResult, LogStream, OneOffProcess, OneOffRun,
  LogStreamOptions, ProcessChange, ProcessStats, ProcessToStart, ReleaseRuntime, Replacement, ReplaceRequest, RouteLoader, ScheduledFormation, StartedProcess, TimestampedLine,
} from '../../src/domain/ports.js';
import { timestampNanos } from '../../src/services/logs.js';
import { DependencyError, DeployError, ProcessCheckError } from '../../src/domain/errors.js';
import { compareProcesses, processLabel, processName, type ProcessFilter, type ProcessIdentity } from '../../src/domain/process-identity.js';
import type { Slot } from '../../src/domain/types.js';

/** What a fake process does when checked. */
export type CheckBehaviour = 'healthy' | 'exits' | 'times-out';

interface FakeProcess extends AppProcess {
  readonly runtime: ReleaseRuntime;
}

/**
 * The runtime port in memory: processes get ids and addresses, start and stop at once, and
 * behave as a test scripts them (a process that exits, a check that times out, a start or a
 * retire that fails). `events` tells the order things happened in, e.g. `start web.1 v2 green`.
 */
export class FakeRuntime implements AppRuntime {
  readonly events: string[] = [];
  readonly oneOffRuns: string[] = [];
  protected readonly processes = new Map<string, FakeProcess>();
  private nextId = 1;
  private readonly starts = new Set<() => void>();
  private readonly watchers = new Set<(change: ProcessChange) => void>();
  /** How each process is checked, by `type.index` or `vN type.index`; healthy when unset. */
  readonly checks = new Map<string, CheckBehaviour>();
  /** Starting these (`type.index`, or `vN type.index`) fails with the engine's message. */
  readonly failingStarts = new Set<string>();
  /** Retiring fails (the engine refuses the stop). */
  failRetire = false;
  /** Exit codes of one-off commands, by a word of their command. */
  readonly oneOffExitCodes = new Map<string, number>();
  /** The logs a process has, for the deploy to show when it fails. */
  logsOf: (process: StartedProcess) => string = (process) => `log of ${processLabel(process.identity)}`;

  async ping(): Promise<void> {}

  /** How many follow the starts of processes now. */
  get startWatchers(): number {
    return this.starts.size;
  }

  /** Lists at once (asynchronously, as an engine would), then tells every change as it is made. */
  watch(onChange: (change: ProcessChange) => void): { stop(): void } {
    this.watchers.add(onChange);
    queueMicrotask(() => this.relist());
    return { stop: () => this.watchers.delete(onChange) };
  }

  /** The stream reconnected: every watcher gets the whole listing again (changes meanwhile may have been missed). */
  relist(): void {
    const processes = [...this.processes.values()];
    for (const watcher of this.watchers) watcher({ kind: 'listed', processes });
  }

  /** Changes made without telling the watchers (events lost while the stream was down). */
  silent = false;

  private changed(id: string): void {
    if (this.silent) return;
    const process = this.processes.get(id);
    const change: ProcessChange = process ? { kind: 'changed', process } : { kind: 'removed', id };
    for (const watcher of this.watchers) watcher(change);
  }

  watchStarts(listener: () => void): { stop(): void } {
    this.starts.add(listener);
    return { stop: () => this.starts.delete(listener) };
  }

  async start(runtime: ReleaseRuntime, processes: readonly ProcessToStart[], started: (process: StartedProcess) => void): Promise<StartedProcess[]> {
    const result: StartedProcess[] = [];
    for (const { identity } of processes) {
      const name = processName(runtime.instance, identity);
      const clash = [...this.processes.values()].find((process) => process.name === name);
      if (clash) throw new Error(`Conflict. The container name "/${name}" is already in use by ${clash.id}`);
      if (this.failingStarts.has(processLabel(identity)) || this.failingStarts.has(`v${identity.release} ${processLabel(identity)}`)) {
        throw new DeployError('PILOT_START_FAILED', `could not start ${processLabel(identity)}: no such image`);
      }
      const id = `c${this.nextId++}`;
      const process: FakeProcess = {
        id, name, identity, runtime, running: true, status: 'running', exitCode: 0, startedAt: new Date().toISOString(), restartCount: 0,
        address: `10.0.${Math.floor(this.nextId / 250)}.${this.nextId % 250}`,
      };
      this.processes.set(id, process);
      this.changed(id);
      this.events.push(`start ${describe(identity)}`);
      started(process);
      result.push(process);
      for (const listener of this.starts) listener();
    }
    return result;
  }

  async check(processes: readonly StartedProcess[], settings: CheckSettings): Promise<{ processes: CheckedProcess[]; health: HealthResult | undefined }> {
    const checked: CheckedProcess[] = [];
    for (const process of processes) {
      const behaviour = this.checks.get(`v${process.identity.release} ${processLabel(process.identity)}`) ?? this.checks.get(processLabel(process.identity)) ?? 'healthy';
      this.events.push(`check ${describe(process.identity)}: ${behaviour}`);
      if (behaviour === 'exits') {
        this.set(process.id, { running: false, status: 'exited', exitCode: 1 });
        throw new ProcessCheckError(`${processLabel(process.identity)}: the process exited with code 1 before answering`, process.id);
      }
      if (behaviour === 'times-out') {
        throw new ProcessCheckError(`${processLabel(process.identity)}: no answer on port ${settings.port} within ${settings.healthTimeoutSeconds} s`, process.id);
      }
      const address = this.processes.get(process.id)?.address;
      checked.push({ ...process, upstream: process.identity.type === 'web' && address ? `${address}:${settings.port}` : undefined });
    }
    return { processes: checked, health: checked.some((process) => process.upstream) ? { attempts: 1, elapsedMs: 5 } : undefined };
  }

  /** What a probe of a serving process finds, by `vN type.index` or `type.index`: healthy (undefined) unless set. */
  readonly probes = new Map<string, string>();
  readonly probed: string[] = [];

  async probe(process: Pick<AppProcess, 'address'>): Promise<string | undefined> {
    const found = [...this.processes.values()].find((candidate) => candidate.address === process.address);
    if (!found) return 'it has no network address';
    this.probed.push(describe(found.identity));
    return this.probes.get(`v${found.identity.release} ${processLabel(found.identity)}`) ?? this.probes.get(processLabel(found.identity));
  }

  async keepServing(processes: readonly StartedProcess[]): Promise<void> {
    for (const process of processes) this.events.push(`serve ${describe(process.identity)}`);
  }

  async list(filter: ProcessFilter = {}): Promise<AppProcess[]> {
    return [...this.processes.values()]
      .filter(({ identity }) => (filter.app === undefined || identity.app === filter.app) && (filter.release === undefined || identity.release === filter.release) && (filter.slot === undefined || identity.slot === filter.slot))
      .sort((a, b) => compareProcesses(a.identity, b.identity) || a.name.localeCompare(b.name));
  }

  async listOneOffs(app?: string): Promise<OneOffProcess[]> {
    return this.oneOffs.filter((oneOff) => app === undefined || oneOff.identity.app === app);
  }

  /** One-off containers a crash of Pilot left behind. */
  readonly oneOffs: OneOffProcess[] = [];

  async inspect(id: string): Promise<AppProcess | undefined> {
    return this.processes.get(id);
  }

  /** What a process was started with (limits, capabilities, linked networks). */
  startedWith(id: string): ReleaseRuntime | undefined {
    return this.processes.get(id)?.runtime;
  }

  routeTarget(process: Pick<AppProcess, 'address'>, port: number): string | undefined {
    return process.address ? `${process.address}:${port}` : undefined;
  }

  async retire(processes: readonly { readonly id: string }[]): Promise<void> {
    if (this.failRetire) throw new Error('the engine refused to stop the container');
    for (const { id } of processes) {
      const process = this.processes.get(id);
      if (process) this.events.push(`retire ${describe(process.identity)}`);
      this.processes.delete(id);
      this.endLogs(id);
      if (process) this.changed(id);
    }
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const oneOff = this.oneOffs.findIndex((candidate) => candidate.id === id);
      if (oneOff >= 0) this.events.push(`remove ${this.oneOffs.splice(oneOff, 1)[0]?.name}`);
      const process = this.processes.get(id);
      if (process) this.events.push(`remove ${describe(process.identity)}`);
      this.processes.delete(id);
      this.endLogs(id);
      if (process) this.changed(id);
    }
  }

  /** Ids of the processes restarted on request, in order (as Docker, such a restart is no crash: the restart count stays). */
  readonly restarted: string[] = [];

  async restart(id: string): Promise<void> {
    if (!this.processes.has(id)) return;
    // Docker's followed log streams end with the stop a restart makes.
    this.endLogs(id);
    this.restarted.push(id);
    this.set(id, { running: true, status: 'running' });
  }

  async stop(id: string): Promise<void> {
    this.set(id, { running: false, status: 'exited' });
  }

  async resume(id: string): Promise<void> {
    this.set(id, { running: true, status: 'running' });
  }

  async lastLogs(id: string): Promise<string> {
    const process = this.processes.get(id);
    return process ? this.logsOf(process) : '';
  }

  /** What each process uses, by id, as a test scripts it; a running process without one uses nothing. */
  readonly usage = new Map<string, ProcessStats>();
  /** How many stats readings were asked for. */
  statsReadings = 0;
  /** The engine's disk use. */
  disk: EngineDiskUsage = { rootDir: '/var/lib/docker', imagesBytes: 3e9, containersBytes: 2e6, volumesBytes: 5e8, buildCacheBytes: 1e9 };

  async stats(id: string): Promise<ProcessStats | undefined> {
    this.statsReadings += 1;
    const process = this.processes.get(id);
    if (!process?.running) return undefined;
    return this.usage.get(id) ?? { cpuSeconds: 0, memoryBytes: 0, memoryLimitBytes: process.runtime.memoryBytes, networkInBytes: 0, networkOutBytes: 0 };
  }

  async diskUsage(): Promise<EngineDiskUsage> {
    return this.disk;
  }

  /** Each process's log so far, by id (see writeLog). */
  private readonly logs = new Map<string, TimestampedLine[]>();
  /** Open followed streams, by process id: each gets the lines written after it opened. */
  private readonly logFollowers = new Map<string, Set<{ onLine: (line: TimestampedLine) => void; end: () => void }>>();
  /** How many log streams were opened, by process id (a follower that opens one again resumes). */
  readonly logStreamsOpened = new Map<string, number>();

  /** A process writes a line (at `time`, Docker's RFC 3339; now when unset): kept, and sent to its followers. */
  writeLog(id: string, text: string, time = new Date().toISOString(), stream: 'stdout' | 'stderr' = 'stdout'): void {
    const line = { time, stream, text };
    this.logs.set(id, [...(this.logs.get(id) ?? []), line]);
    for (const follower of this.logFollowers.get(id) ?? []) follower.onLine(line);
  }

  /** As Docker: lines from `since` (inclusive) or the last `tail`; a followed stream ends when the process stops or goes. */
  async streamLogs(id: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream> {
    if (!this.processes.has(id)) throw new Error(`No such container: ${id}`);
    this.logStreamsOpened.set(id, (this.logStreamsOpened.get(id) ?? 0) + 1);
    const since = options.sinceSeconds === undefined ? undefined : BigInt(options.sinceSeconds.replace('.', ''));
    let lines = (this.logs.get(id) ?? []).filter((line) => since === undefined || timestampNanos(line.time) >= since);
    if (options.tail !== undefined) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
    for (const line of lines) onLine(line);
    if (!options.follow || !this.processes.get(id)?.running) return { stop: () => undefined, done: Promise.resolve() };
    let end = (): void => undefined;
    const done = new Promise<void>((resolve) => (end = resolve));
    const follower = { onLine, end: () => end() };
    const followers = this.logFollowers.get(id) ?? new Set();
    followers.add(follower);
    this.logFollowers.set(id, followers);
    void done.then(() => followers.delete(follower));
    return { stop: follower.end, done };
  }

  /** The process's followed streams end (it stopped or went away), as Docker's do. */
  private endLogs(id: string): void {
    for (const follower of this.logFollowers.get(id) ?? []) follower.end();
  }

  async runOneOff(runtime: ReleaseRuntime, run: OneOffRun, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
    const command = run.command.at(-1) ?? '';
    this.oneOffRuns.push(`${run.kind} v${runtime.version}: ${command}`);
    onOutput('stdout', Buffer.from(`output of ${command}\n`));
    const code = [...this.oneOffExitCodes].find(([word]) => command.includes(word))?.[1] ?? 0;
    return { stdin: undefined, exitCode: Promise.resolve(code), resize: async () => undefined, kill: async () => undefined };
  }

  /** `app -> other` for each link the runtime made. */
  readonly links = new Set<string>();
  async link(app: string, other: string): Promise<void> {
    this.links.add(`${app} -> ${other}`);
  }
  async unlink(app: string, other: string): Promise<void> {
    this.links.delete(`${app} -> ${other}`);
  }
  async forgetApp(): Promise<void> {}

  async ensureVolume(_app: string, _name: string): Promise<void> {}
  async listVolumes(): Promise<string[]> {
    return [];
  }
  async removeVolume(): Promise<void> {}

  /** A process as it runs now, by `vN type.index slot`; for assertions. */
  running(): string[] {
    return [...this.processes.values()].sort((a, b) => a.identity.release - b.identity.release || compareProcesses(a.identity, b.identity)).map((process) => describe(process.identity));
  }

  /** What the engine would do behind Pilot's back: a crash, a new address after an engine restart. */
  set(id: string, change: Partial<Pick<AppProcess, 'running' | 'status' | 'exitCode' | 'address' | 'restartCount'>>): void {
    const process = this.processes.get(id);
    if (process) this.processes.set(id, { ...process, ...change });
    if (change.running === false) this.endLogs(id);
    this.changed(id);
  }

  /** Puts a process there as a crash of Pilot left it (started, never recorded as serving). */
  leave(runtime: ReleaseRuntime, identity: ProcessIdentity): string {
    const id = `c${this.nextId++}`;
    this.processes.set(id, {
      id, name: processName(runtime.instance, identity), identity, runtime, running: true, status: 'running', exitCode: 0,
      startedAt: new Date().toISOString(), restartCount: 0, address: `10.9.0.${this.nextId}`,
    });
    this.changed(id);
    return id;
  }
}

function describe(identity: ProcessIdentity): string {
  return `v${identity.release} ${processLabel(identity)} ${identity.slot}`;
}

/**
 * Caddy's admin API as Pilot uses it: a load replaces the config (or is refused, as a test
 * scripts it); the upstreams are those of the last accepted Caddyfile.
 */
export class FakeRouteLoader implements RouteLoader {
  readonly loaded: string[] = [];
  /** Refuses the next loads with Caddy's message while this is set. */
  refusal: string | undefined;
  /** Accepts loads but then reports no upstream of them (a Caddy that did not take the config). */
  dropUpstreams = false;
  private config = '';

  async load(caddyfile: string): Promise<void> {
    // As CaddyAdmin tells it.
    if (this.refusal) throw new DependencyError('PILOT_CADDY_REFUSED', `Caddy refused the routes: ${this.refusal}`);
    this.loaded.push(caddyfile);
    this.config = caddyfile;
  }

  async reachable(): Promise<boolean> {
    return true;
  }

  async upstreams(): Promise<string[]> {
    if (this.dropUpstreams) return [];
    return [...this.config.matchAll(/\b(\d+\.\d+\.\d+\.\d+:\d+)\b/g)].map((match) => match[1] as string);
  }

  async configFingerprint(): Promise<string> {
    return `${this.config.length}:${this.loaded.length}`;
  }

  /** Someone else replaced Caddy's config (a restart with another file). */
  replaceBehindPilot(): void {
    this.config = '';
    this.loaded.push('');
  }
}

/**
 * A scheduler that replaces processes itself (Swarm, AppRuntime.replace): each replace puts the
 * whole formation in place of the app's processes, or fails as a rollback would, changing nothing;
 * its undo puts back the formation and the processes that ran before. `scheduled` is what it was
 * last asked to run for each app and type, as a Swarm service's spec.
 */
export class FakeRollingRuntime extends FakeRuntime {
  readonly replaced: ReplaceRequest[] = [];
  /** The next replace fails (the scheduler rolled back) with this message. */
  rollback: string | undefined;
  /** Undoing a replace fails with this message. */
  undoFailure: string | undefined;
  /** Runs while the next replace rolls out (what happens meanwhile elsewhere in Pilot). */
  duringReplace: (() => void) | undefined;
  /**
   * Which of a type's processes a scale-down keeps: by default web.1 to web.N. Swarm keeps those
   * that leave the nodes balanced (web.1 and web.3 of three, when web.1 and web.2 share a node).
   */
  scaleDownKeeps: ((processes: readonly AppProcess[], quantity: number) => AppProcess[]) | undefined;
  private formations: ScheduledFormation[] = [];

  async replace(request: ReplaceRequest): Promise<Replacement> {
    this.replaced.push(request);
    this.events.push(`replace ${request.runtime.app} v${request.runtime.version}`);
    const failure = this.rollback;
    this.rollback = undefined;
    if (failure) throw new ProcessCheckError(failure, '');
    const { app } = request.runtime;
    const formations = this.formations.filter((formation) => formation.app === app);
    const processes = (await this.list({ app })).map((process) => ({ identity: process.identity, runtime: this.startedWith(process.id) as ReleaseRuntime }));
    await this.schedule(request.runtime, request.quantities, request.slot, { types: Object.keys(request.processes), renew: request.renew });
    this.duringReplace?.();
    this.duringReplace = undefined;
    return {
      undo: async () => {
        if (this.undoFailure) throw new DeployError('PILOT_SWARM_UNDO', this.undoFailure);
        this.events.push(`undo ${app} v${request.runtime.version}`);
        this.formations = [...this.formations.filter((formation) => formation.app !== app), ...formations];
        await this.remove((await this.list({ app })).map((process) => process.id));
        for (const process of processes) this.leave(process.runtime, process.identity);
      },
    };
  }

  /**
   * The scheduler runs the release at these quantities, each of its types one service, as after
   * a replace (or one that Pilot's stop interrupted: the scheduler carries on by itself).
   */
  async schedule(runtime: ReleaseRuntime, quantities: Readonly<Record<string, number>>, slot: Slot, options: { types: readonly string[]; renew: boolean }): Promise<void> {
    const { app, version } = runtime;
    const current = await this.list({ app });
    const staying = new Set<string>();
    for (const type of new Set(current.map((process) => process.identity.type))) {
      const ofType = current.filter((process) => !options.renew && process.identity.release === version && process.identity.type === type);
      const quantity = quantities[type] ?? 0;
      const keeps = ofType.length > quantity && this.scaleDownKeeps ? this.scaleDownKeeps(ofType, quantity) : ofType.filter((process) => process.identity.index <= quantity);
      for (const process of keeps) staying.add(process.id);
    }
    const stays = (process: AppProcess): boolean => staying.has(process.id);
    await this.remove(current.filter((process) => !stays(process)).map((process) => process.id));
    const kept = new Set(current.filter(stays).map((process) => processLabel(process.identity)));
    // The missing processes take the lowest free numbers, as Swarm's slots do.
    for (const type of options.types) {
      let count = current.filter((process) => stays(process) && process.identity.type === type).length;
      for (let index = 1; count < (quantities[type] ?? 0); index += 1) {
        const identity = { app, release: version, slot, type, index };
        if (kept.has(processLabel(identity))) continue;
        this.leave(runtime, identity);
        count += 1;
      }
    }
    this.formations = [
      ...this.formations.filter((formation) => formation.app !== app),
      ...options.types.map((type) => ({ app, type, release: version, slot, replicas: quantities[type] ?? 0 })),
    ];
  }

  async scheduled(): Promise<ScheduledFormation[]> {
    return [...this.formations];
  }

  /** Plain containers beside the scheduler, in no service: what a single-host Pilot ran before its restart in swarm mode. */
  readonly singleHost: AppProcess[] = [];

  /** The app's processes become such plain containers (its services gone, as if never made): the app ran on one host. */
  ranOnOneHost(app: string): void {
    for (const [id, process] of this.processes) {
      if (process.identity.app !== app) continue;
      this.processes.delete(id);
      this.singleHost.push(process);
    }
    this.formations = this.formations.filter((formation) => formation.app !== app);
  }

  async listSingleHost(): Promise<AppProcess[]> {
    return [...this.singleHost];
  }

  async retireSingleHost(processes: readonly { readonly id: string }[]): Promise<void> {
    for (const process of this.singleHost.filter((candidate) => processes.some(({ id }) => id === candidate.id))) this.events.push(`stop single-host ${process.name}`);
    await this.remove(processes.map((process) => process.id));
  }

  /** Volumes placed on a node (Swarm's node label), in the order they were. */
  readonly placedVolumes: string[] = [];

  /** Placing a volume on a node fails with this message (the manager's engine gave no node id). */
  placeFailure: string | undefined;

  override async ensureVolume(_app: string, name: string): Promise<void> {
    if (this.placeFailure) throw new DeployError('PILOT_SWARM_NODE', this.placeFailure);
    if (!this.placedVolumes.includes(name)) this.placedVolumes.push(name);
    this.events.push(`ensure volume ${name}`);
  }

  override async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const index = this.singleHost.findIndex((process) => process.id === id);
      if (index >= 0) this.events.push(`remove single-host ${this.singleHost.splice(index, 1)[0]?.name}`);
    }
    await super.remove(ids);
  }

  /** As Swarm: what retires is a whole service (an app's type), its formation with it. */
  override async retire(processes: readonly { readonly id: string }[]): Promise<void> {
    const services = new Set<string>();
    for (const { id } of processes) {
      const identity = (await this.inspect(id))?.identity;
      if (identity) services.add(`${identity.app} ${identity.type}`);
    }
    this.formations = this.formations.filter((formation) => !services.has(`${formation.app} ${formation.type}`));
    await super.retire(processes);
  }
}
