import type { ContainerEngine, ContainerState, FormationStore, ReleaseStore, VolumeStore } from '../domain/ports.js';
import { MAX_PROCESS_QUANTITY, type App, type Release } from '../domain/types.js';
import { ConflictError, ValidationError } from '../domain/errors.js';
import type { Deployer } from '../pipeline/deploy.js';
import type { RouteTable } from '../pipeline/switch.js';
import { INDEX_LABEL, PROCESS_LABEL, RELEASE_LABEL, containerPlan, instanceLabels, isOneOff, processQuantities, releaseRuntime } from '../pipeline/start.js';
import { checkProcesses, startProcesses } from '../pipeline/processes.js';
import { WORKER_SETTLE_SECONDS } from '../pipeline/deploy.js';

/** A container of the live release, or (index and container null) a process type scaled to 0. */
export interface ProcessStatus {
  readonly type: string;
  readonly index: number | null;
  readonly release: number;
  readonly container: string | null;
  readonly state: string;
  readonly startedAt: string | null;
  readonly uptimeSeconds: number | null;
  readonly restarts: number;
}

export interface ProcessSettings {
  readonly instance: string;
  readonly stopTimeoutSeconds: number;
  readonly drainSeconds: number;
  readonly healthTimeoutSeconds: number;
  readonly appMemoryBytes: number;
  readonly appPids: number;
  readonly appCpus: number;
}

export interface ProcessDeps {
  readonly releases: ReleaseStore;
  readonly formation: FormationStore;
  readonly volumes: VolumeStore;
  readonly engine: ContainerEngine;
  readonly deployer: Deployer;
  readonly routes: RouteTable;
  readonly settings: ProcessSettings;
}

export type ProcessAction = 'restart' | 'stop' | 'start';

/** The state shown for a process type that runs no container. */
const SCALED_TO_ZERO = 'scaled to 0';

/** The live release's containers as Docker sees them: status, restart/stop/start, scale. */
export class ProcessControl {
  constructor(private readonly deps: ProcessDeps) {}

  async list(app: App): Promise<ProcessStatus[]> {
    const live = this.deps.releases.live(app.id);
    if (!live) return [];
    const statuses: ProcessStatus[] = [];
    for (const summary of await this.containersOf(app, live)) {
      const container = await this.deps.engine.inspectContainer(summary.id);
      const startedAt = container?.running ? (container.startedAt ?? null) : null;
      statuses.push({
        type: summary.labels[PROCESS_LABEL] ?? 'web',
        index: Number(summary.labels[INDEX_LABEL] ?? 1),
        release: live.version,
        container: summary.name,
        state: container?.status ?? 'missing',
        startedAt,
        uptimeSeconds: startedAt ? Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)) : null,
        restarts: container?.restartCount ?? 0,
      });
    }
    const quantities = processQuantities(live, this.deps.formation.get(app.id));
    for (const type of Object.keys(quantities).sort()) {
      if (quantities[type] !== 0) continue;
      statuses.push({ type, index: null, release: live.version, container: null, state: SCALED_TO_ZERO, startedAt: null, uptimeSeconds: null, restarts: 0 });
    }
    return statuses;
  }

  /** Acts on every container of the live release, then reloads the routes: a started container may have a new address. */
  async act(app: App, action: ProcessAction): Promise<ProcessStatus[]> {
    return this.deps.deployer.withAppLock(app.name, async () => {
      const live = this.requireLive(app);
      const { engine, settings } = this.deps;
      const containers = await this.containersOf(app, live);
      await Promise.all(
        containers.map((container) => {
          if (action === 'restart') return engine.restartContainer(container.id, settings.stopTimeoutSeconds);
          if (action === 'stop') return engine.stopContainer(container.id, settings.stopTimeoutSeconds);
          return engine.resumeContainer(container.id);
        }),
      );
      await this.deps.routes.reload();
      return this.list(app);
    });
  }

  /**
   * Changes how many containers of each type run, without a rebuild or a dropped request:
   * new web containers join the route once healthy; removed ones leave it, drain, then stop.
   * The scale is kept for the next releases.
   */
  async scale(app: App, quantities: Readonly<Record<string, number>>): Promise<ProcessStatus[]> {
    return this.deps.deployer.withAppLock(app.name, async () => {
      const live = this.deps.releases.live(app.id);
      for (const [type, quantity] of Object.entries(quantities)) {
        if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_PROCESS_QUANTITY) {
          throw new ValidationError(`${type}=${quantity}: a scale is a whole number from 0 to ${MAX_PROCESS_QUANTITY}`);
        }
        if (live && !(type in live.processes)) {
          throw new ValidationError(`v${live.version} has no process type "${type}" (its types: ${Object.keys(live.processes).join(', ') || 'none'})`);
        }
        // app.json formation wins at every deploy (see processQuantities): a scale here would not last.
        const declared = live?.formation[type];
        if (declared !== undefined) {
          throw new ConflictError(`${type} is scaled by app.json formation (${type}.quantity: ${declared}) in v${live?.version}: change app.json and push to scale it`);
        }
      }
      if (!live) {
        this.deps.formation.set(app.id, quantities);
        return [];
      }
      const containers = await this.containersOf(app, live);
      await this.scaleUp(app, live, containers, quantities);
      // Only now do new web containers count in the routes; removed ones leave them here.
      this.deps.formation.set(app.id, quantities);
      await this.deps.routes.reload();
      const scale = processQuantities(live, this.deps.formation.get(app.id));
      const surplus = containers.filter((container) => {
        const type = container.labels[PROCESS_LABEL] ?? 'web';
        return Number(container.labels[INDEX_LABEL] ?? 1) > (scale[type] ?? 0);
      });
      if (surplus.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, this.deps.settings.drainSeconds * 1000));
        await Promise.all(surplus.map((container) => this.deps.engine.stopContainer(container.id, this.deps.settings.stopTimeoutSeconds)));
        for (const container of surplus) await this.deps.engine.removeContainer(container.id);
      }
      return this.list(app);
    });
  }

  private async scaleUp(app: App, live: Release, containers: readonly ContainerState[], quantities: Readonly<Record<string, number>>): Promise<void> {
    const { settings, engine } = this.deps;
    if (!live.image || !live.port || !live.slot) throw new ConflictError(`v${live.version} has no image to start more containers from`);
    const runtime = releaseRuntime(app, { ...live, image: live.image, port: live.port }, settings, this.deps.volumes.list(app.id));
    const plans = Object.entries(quantities).flatMap(([type, quantity]) => {
      const running = new Set(containers.filter((container) => (container.labels[PROCESS_LABEL] ?? 'web') === type).map((container) => Number(container.labels[INDEX_LABEL] ?? 1)));
      return Array.from({ length: quantity }, (_, offset) => offset + 1)
        .filter((index) => !running.has(index))
        .map((index) => containerPlan(runtime, { slot: live.slot as 'blue' | 'green', type, index, command: live.processes[type] ?? null }));
    });
    if (plans.length === 0) return;
    const started: string[] = [];
    try {
      for (const plan of plans) await engine.removeContainer(plan.name);
      const processes = await startProcesses(engine, plans, (id) => started.push(id));
      await checkProcesses(engine, processes, { port: live.port, healthChecks: live.healthChecks, healthTimeoutSeconds: settings.healthTimeoutSeconds, settleSeconds: WORKER_SETTLE_SECONDS });
      for (const process of processes) await engine.keepRunning(process.containerId);
    } catch (error) {
      for (const id of started) await engine.removeContainer(id).catch(() => undefined);
      throw error;
    }
  }

  private requireLive(app: App): Release {
    const live = this.deps.releases.live(app.id);
    if (!live) throw new ConflictError(`${app.name} has no live release yet: push to deploy it first`);
    return live;
  }

  private async containersOf(app: App, release: Release): Promise<ContainerState[]> {
    const labels = { ...instanceLabels(this.deps.settings.instance, app.name), [RELEASE_LABEL]: String(release.version) };
    const containers = await this.deps.engine.listContainers(labels);
    return containers
      .filter((container) => !isOneOff(container.labels))
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }
}
