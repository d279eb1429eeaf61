import type {
  AppProcess, AppRuntime, AttachedProcess, CheckSettings, CheckedProcess, ContainerEngine, ContainerState, EngineDiskUsage, HealthResult, LogStream,
  LogStreamOptions, OneOffProcess, ProcessStats, OneOffRun, ProcessChange, ProcessToStart, ReleaseRuntime, StartedProcess, TimestampedLine,
} from '../domain/ports.js';
import { DeployError, ProcessCheckError } from '../domain/errors.js';
import type { HealthCheck } from '../domain/types.js';
import { compareNames, compareProcesses, identityOf, isSwarmTask, selectorLabels, type ProcessFilter } from '../domain/process-identity.js';
import { DEFAULT_HEALTH_TIMING, probeOnce, waitUntilHealthy } from '../pipeline/healthcheck.js';
import { containerPlan, networkName, oneOffPlan } from '../pipeline/start.js';

/**
 * The runtime port on one Docker engine: a process is a container named and labelled by
 * domain/process-identity.ts, on the instance's network, reached by the proxy at its IP.
 */
export class DockerRuntime implements AppRuntime {
  constructor(
    private readonly engine: ContainerEngine,
    private readonly instance: string,
  ) {}

  ping(): Promise<void> {
    return this.engine.ping();
  }

  watchStarts(listener: () => void): { stop(): void } {
    return this.engine.watchContainerStarts(selectorLabels(this.instance), listener);
  }

  watch(onChange: (change: ProcessChange) => void): { stop(): void } {
    // One change at a time, in the order the engine told them: an inspect that answers late
    // never overwrites what a later event (or a new listing) found.
    let queue = Promise.resolve();
    const then = (task: () => Promise<ProcessChange | undefined>): void => {
      queue = queue.then(task).then(
        (change) => change && onChange(change),
        () => undefined,
      );
    };
    return this.engine.watchContainerEvents(
      selectorLabels(this.instance),
      (event) => then(async () => {
        const process = await this.inspect(event.id);
        if (process) return { kind: 'changed', process };
        // Gone (or a one-off, which is no process): only its destruction says so for sure.
        return event.action === 'destroy' ? { kind: 'removed', id: event.id } : undefined;
      }),
      () => then(async () => {
        const listed = await this.list();
        // A listing lacks start times and restart counts: one inspect each, at start and after a reconnect only.
        const processes = await Promise.all(listed.map(async (process) => (await this.inspect(process.id)) ?? process));
        return { kind: 'listed', processes };
      }),
    );
  }

  async start(runtime: ReleaseRuntime, processes: readonly ProcessToStart[], started: (process: StartedProcess) => void): Promise<StartedProcess[]> {
    await this.ensureNetwork(runtime.app);
    const result: StartedProcess[] = [];
    for (const process of processes) {
      const plan = containerPlan(runtime, process);
      // A container of this name that got here is not serving (the rollout made sure): replace it.
      await this.engine.removeContainer(plan.name);
      const id = await this.engine.startContainer(plan);
      const one = { id, name: plan.name, identity: process.identity };
      started(one);
      result.push(one);
    }
    return result;
  }

  async check(processes: readonly StartedProcess[], settings: CheckSettings): Promise<{ processes: CheckedProcess[]; health: HealthResult | undefined }> {
    const results = await Promise.all(processes.map((process) => this.checkOne(process, settings, processes.length > 1)));
    const healths = results.flatMap((result) => (result.health ? [result.health] : []));
    const slowest = healths.sort((a, b) => b.elapsedMs - a.elapsedMs)[0];
    return { processes: results.map((result) => result.checked), health: slowest };
  }

  private async checkOne(process: StartedProcess, settings: CheckSettings, named: boolean): Promise<{ checked: CheckedProcess; health?: HealthResult }> {
    const status = async () => {
      const state = await this.engine.inspectContainer(process.id);
      return { running: state?.running ?? false, exitCode: state?.exitCode ?? -1 };
    };
    try {
      if (process.identity.type !== 'web') {
        await new Promise((resolve) => setTimeout(resolve, settings.settleSeconds * 1000));
        const { running, exitCode } = await status();
        if (!running) throw new DeployError('PILOT_PROCESS_EXITED', `the process exited with code ${exitCode} within ${settings.settleSeconds} s of starting`);
        return { checked: { ...process, upstream: undefined } };
      }
      const ip = (await this.engine.inspectContainer(process.id))?.ip;
      if (!ip) throw new DeployError('PILOT_START_FAILED', 'the new container got no network address');
      const target = { host: ip, port: settings.port, status };
      const timing = { ...DEFAULT_HEALTH_TIMING, timeoutMs: settings.healthTimeoutSeconds * 1000 };
      let health: HealthResult = { attempts: 0, elapsedMs: 0 };
      for (const check of settings.healthChecks) {
        const passed = await waitUntilHealthy(target, check, timing);
        health = { attempts: health.attempts + passed.attempts, elapsedMs: health.elapsedMs + passed.elapsedMs };
      }
      return { checked: { ...process, upstream: this.routeTarget({ address: ip }, settings.port) }, health };
    } catch (error) {
      const label = named ? `${process.identity.type}.${process.identity.index}: ` : '';
      if (error instanceof DeployError) throw new ProcessCheckError(`${label}${error.message}`, process.id);
      throw error;
    }
  }

  async probe(process: Pick<AppProcess, 'address'>, port: number, checks: readonly HealthCheck[]): Promise<string | undefined> {
    if (!process.address) return 'it has no network address';
    return probeOnce({ host: process.address, port }, checks, DEFAULT_HEALTH_TIMING.requestTimeoutMs);
  }

  async keepServing(processes: readonly StartedProcess[]): Promise<void> {
    await Promise.all(processes.map((process) => this.engine.keepRunning(process.id)));
  }

  async list(filter: ProcessFilter = {}): Promise<AppProcess[]> {
    const processes: AppProcess[] = [];
    for (const container of await this.engine.listContainers(selectorLabels(this.instance, filter))) {
      const identity = identityOf(container.labels);
      if (identity?.role === 'process') processes.push(appProcess(container, identity.process));
    }
    return processes.sort((a, b) => compareProcesses(a.identity, b.identity) || compareNames(a.name, b.name));
  }

  /**
   * This instance's processes that are containers of their own on this engine, not a swarm
   * task's (on a swarm manager `list` has both: task containers carry the same labels).
   */
  async listOwnContainers(): Promise<AppProcess[]> {
    const processes: AppProcess[] = [];
    for (const container of await this.engine.listContainers(selectorLabels(this.instance))) {
      const identity = identityOf(container.labels);
      if (identity?.role === 'process' && !isSwarmTask(container.labels)) processes.push(appProcess(container, identity.process));
    }
    return processes.sort((a, b) => compareProcesses(a.identity, b.identity) || compareNames(a.name, b.name));
  }

  async listOneOffs(app?: string): Promise<OneOffProcess[]> {
    const oneOffs: OneOffProcess[] = [];
    for (const container of await this.engine.listContainers(selectorLabels(this.instance, app === undefined ? {} : { app }))) {
      const identity = identityOf(container.labels);
      if (identity?.role === 'one-off') oneOffs.push({ id: container.id, name: container.name, identity: identity.oneOff, running: container.running });
    }
    return oneOffs;
  }

  async inspect(id: string): Promise<AppProcess | undefined> {
    const container = await this.engine.inspectContainer(id);
    const identity = container ? identityOf(container.labels) : undefined;
    return container && identity?.role === 'process' ? appProcess(container, identity.process) : undefined;
  }

  routeTarget(process: Pick<AppProcess, 'address'>, port: number): string | undefined {
    return process.address ? `${process.address}:${port}` : undefined;
  }

  async retire(processes: readonly { readonly id: string }[], stopTimeoutSeconds: number): Promise<void> {
    // Stopped side by side: SIGTERM to all, each gets the whole stop timeout.
    await Promise.all(processes.map((process) => this.engine.stopContainer(process.id, stopTimeoutSeconds)));
    await this.remove(processes.map((process) => process.id));
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.engine.removeContainer(id);
  }

  restart(id: string, timeoutSeconds: number): Promise<void> {
    return this.engine.restartContainer(id, timeoutSeconds);
  }

  stop(id: string, timeoutSeconds: number): Promise<void> {
    return this.engine.stopContainer(id, timeoutSeconds);
  }

  resume(id: string): Promise<void> {
    return this.engine.resumeContainer(id);
  }

  lastLogs(id: string, lines: number): Promise<string> {
    return this.engine.containerLogs(id, lines);
  }

  streamLogs(id: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream> {
    return this.engine.streamLogs(id, options, onLine);
  }

  stats(id: string): Promise<ProcessStats | undefined> {
    return this.engine.containerStats(id);
  }

  diskUsage(): Promise<EngineDiskUsage> {
    return this.engine.diskUsage();
  }

  async runOneOff(runtime: ReleaseRuntime, run: OneOffRun, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
    await this.ensureNetwork(runtime.app);
    const plan = oneOffPlan(runtime, run);
    await this.engine.removeContainer(plan.name);
    return this.engine.runAttached(plan, onOutput);
  }

  async link(app: string, other: string): Promise<void> {
    await this.ensureNetwork(other);
    for (const id of await this.containerIds(app)) await this.engine.connectNetwork(networkName(this.instance, other), id);
  }

  async unlink(app: string, other: string): Promise<void> {
    for (const id of await this.containerIds(app)) await this.engine.disconnectNetwork(networkName(this.instance, other), id);
  }

  async forgetApp(app: string): Promise<void> {
    // Linked apps' containers are taken off it (their links went with the app's row).
    await this.engine.removeNetwork(networkName(this.instance, app));
  }

  ensureVolume(app: string, name: string): Promise<void> {
    return this.engine.ensureVolume(name, selectorLabels(this.instance, { app }));
  }

  listVolumes(app: string): Promise<string[]> {
    return this.engine.listVolumes(selectorLabels(this.instance, { app }));
  }

  removeVolume(name: string): Promise<void> {
    return this.engine.removeVolume(name);
  }

  /** The app's network: created once, and again if someone removed it. */
  private ensureNetwork(app: string): Promise<void> {
    return this.engine.ensureNetwork(networkName(this.instance, app), selectorLabels(this.instance, { app }));
  }

  /** Every container of the app: its processes and one-off runs. */
  private async containerIds(app: string): Promise<string[]> {
    return (await this.engine.listContainers(selectorLabels(this.instance, { app }))).map((container) => container.id);
  }
}

function appProcess(container: ContainerState, identity: AppProcess['identity']): AppProcess {
  return {
    id: container.id,
    name: container.name,
    identity,
    running: container.running,
    status: container.status,
    exitCode: container.exitCode,
    startedAt: container.startedAt,
    restartCount: container.restartCount,
    address: container.ip,
  };
}
