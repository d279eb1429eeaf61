import type { AppProcess, AppRuntime, AppStore, EventLog, FormationStore, ReleaseStore, VolumeStore } from '../domain/ports.js';
import { MAX_PROCESS_QUANTITY, type App, type Release } from '../domain/types.js';
import { ConflictError, DeployError, ValidationError } from '../domain/errors.js';
import type { Deployer } from '../pipeline/deploy.js';
import type { RouteTable } from '../pipeline/switch.js';
import { processQuantities, releaseRuntime } from '../pipeline/start.js';
import { RolloutFailure, planRestart, planScale, type Rollout, type RolloutPlan, type RunnableRelease } from '../pipeline/rollout.js';
import { DeployOutput } from '../pipeline/output.js';
import type { ProcessView } from '../domain/shapes.js';
import type { LiveState } from './live-state.js';

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
  readonly apps: Pick<AppStore, 'findByName' | 'listings'>;
  readonly releases: ReleaseStore;
  readonly formation: FormationStore;
  readonly volumes: VolumeStore;
  readonly runtime: AppRuntime;
  readonly rollout: Rollout;
  readonly deployer: Pick<Deployer, 'withAppLock'>;
  readonly routes: Pick<RouteTable, 'reload'>;
  /** What is shown: the processes as the runtime's events left them, never read per request. */
  readonly live: Pick<LiveState, 'list' | 'refresh'>;
  readonly events: EventLog;
  readonly settings: ProcessSettings;
  /** The latest CPU and memory reading of a process, if metrics have one (MetricsSampler). */
  readonly usage?: (id: string) => { readonly cpuPercent: number | null; readonly memoryBytes: number; readonly memoryLimitBytes: number } | undefined;
}

export type ProcessAction = 'restart' | 'stop' | 'start';

const PAST: Record<ProcessAction, string> = { restart: 'restarted', stop: 'stopped', start: 'started' };

/** The state shown for a process type that runs no container. */
const SCALED_TO_ZERO = 'scaled to 0';

/** The live release's processes as the runtime sees them: status, restart/stop/start, scale. */
export class ProcessControl {
  constructor(private readonly deps: ProcessDeps) {}

  /** The runtime's scheduler keeps the formation itself (Swarm): every process it runs serves. */
  private get rolling(): boolean {
    return this.deps.runtime.replace !== undefined;
  }

  list(app: App): ProcessView[] {
    const live = this.deps.releases.live(app.id);
    return live ? this.views(app.name, live, this.deps.formation.get(app.id)) : [];
  }

  /** Every app's processes, by app name (apps with nothing live are absent): the same reads whatever the number of apps. */
  listEvery(): Map<string, ProcessView[]> {
    const names = new Map(this.deps.apps.listings().map(({ app }) => [app.id, app.name]));
    const formations = this.deps.formation.all();
    const every = new Map<string, ProcessView[]>();
    for (const live of this.deps.releases.allLive()) {
      const name = names.get(live.appId);
      if (name !== undefined) every.set(name, this.views(name, live, formations.get(live.appId) ?? {}));
    }
    return every;
  }

  /** The live release's processes from the live state (in memory): reads nothing. */
  private views(app: string, live: Release, scaled: Readonly<Record<string, number>>): ProcessView[] {
    const quantities = processQuantities(live, scaled);
    const statuses: ProcessView[] = [];
    const serving = this.deps.live.list({ app, release: live.version }).filter((process) => isServing(process, live, quantities, this.rolling));
    for (const process of serving) {
      const startedAt = process.running ? (process.startedAt ?? null) : null;
      const usage = process.running ? this.deps.usage?.(process.id) : undefined;
      statuses.push({
        type: process.identity.type,
        index: process.identity.index,
        release: live.version,
        container: process.name,
        state: process.status,
        startedAt,
        uptimeSeconds: startedAt ? Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)) : null,
        restarts: process.restartCount,
        cpuPercent: usage?.cpuPercent ?? null,
        memoryBytes: usage?.memoryBytes ?? null,
        memoryLimitBytes: usage?.memoryLimitBytes ?? null,
        health: process.health,
        ...(process.node !== undefined ? { node: process.node } : {}),
      });
    }
    for (const type of Object.keys(quantities).sort()) {
      if (quantities[type] !== 0) continue;
      statuses.push({ type, index: null, release: live.version, container: null, state: SCALED_TO_ZERO, startedAt: null, uptimeSeconds: null, restarts: 0, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, health: 'unknown' });
    }
    return statuses;
  }

  /**
   * Restarts every process of the live release blue/green (new ones start, are checked, take
   * the traffic, the old ones drain): no request fails. Only non-web types named: restarted in
   * place, as nothing routes to them. Stop and start act in place, then the routes follow.
   */
  async act(app: App, action: ProcessAction, types?: readonly string[]): Promise<ProcessView[]> {
    return this.deps.deployer.withAppLock(app.name, async () => {
      const live = this.requireLive(app);
      const { runtime, settings } = this.deps;
      const quantities = processQuantities(live, this.deps.formation.get(app.id));
      for (const type of types ?? []) if (!(type in live.processes)) throw new ValidationError(this.unknownType(live, type));
      const tell = (): void => this.deps.events.record({ appId: app.id, app: app.name, kind: action, message: `${PAST[action]} ${types?.join(', ') ?? 'every process'} of v${live.version}`, release: live.version });
      if (action === 'restart' && (!types || types.includes('web'))) {
        await this.roll(app, (runnable, existing) => planRestart(app, runnable, this.runtimeOf(app, runnable), quantities, existing));
        tell();
        return this.listNow(app);
      }
      const processes = (await this.serving(app, live, quantities)).filter((process) => !types || types.includes(process.identity.type));
      await Promise.all(
        processes.map((process) => {
          if (action === 'restart') return runtime.restart(process.id, settings.stopTimeoutSeconds);
          if (action === 'stop') return runtime.stop(process.id, settings.stopTimeoutSeconds);
          return runtime.resume(process.id);
        }),
      );
      await this.deps.routes.reload();
      tell();
      return this.listNow(app);
    });
  }

  /**
   * Changes how many processes of each type run, without a rebuild or a dropped request: new
   * web processes join the route once healthy; removed ones leave it, drain, then stop. The
   * scale is kept for the next releases, written once the change serves.
   */
  async scale(app: App, quantities: Readonly<Record<string, number>>): Promise<ProcessView[]> {
    return this.deps.deployer.withAppLock(app.name, async () => {
      const live = this.deps.releases.live(app.id);
      for (const [type, quantity] of Object.entries(quantities)) {
        if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_PROCESS_QUANTITY) {
          throw new ValidationError(`${type}=${quantity}: a scale is a whole number from 0 to ${MAX_PROCESS_QUANTITY}`);
        }
        if (live && !(type in live.processes)) throw new ValidationError(this.unknownType(live, type));
        // app.json formation wins at every deploy (see processQuantities): a scale here would not last.
        const declared = live?.formation[type];
        if (declared !== undefined) {
          throw new ConflictError(`${type} is scaled by app.json formation (${type}.quantity: ${declared}) in v${live?.version}: change app.json and push to scale it`);
        }
      }
      const commit = (): void => this.deps.formation.set(app.id, quantities);
      if (!live) {
        commit();
        return [];
      }
      const serving = processQuantities(live, this.deps.formation.get(app.id));
      const next = processQuantities(live, { ...this.deps.formation.get(app.id), ...quantities });
      await this.roll(app, (runnable, existing) => planScale(app, runnable, this.runtimeOf(app, runnable), next, existing, serving), commit);
      const scales = Object.entries(quantities).map(([type, quantity]) => `${type}=${quantity}`).join(' ');
      this.deps.events.record({ appId: app.id, app: app.name, kind: 'scale', message: `scaled to ${scales} (v${live.version})`, release: live.version });
      return this.listNow(app);
    });
  }

  /** The list once Pilot changed the processes itself: read from the runtime, so it shows the change. */
  private async listNow(app: App): Promise<ProcessView[]> {
    await this.deps.live.refresh(app.name);
    return this.list(app);
  }

  /** Runs a rollout of the live release (the caller holds the app's lock); a failure says what serves on. */
  private async roll(app: App, plan: (live: RunnableRelease, existing: AppProcess[]) => RolloutPlan, commit: () => void = () => undefined): Promise<void> {
    const live = this.requireLive(app);
    if (!live.image || !live.port) throw new ConflictError(`v${live.version} has no image to start processes from`);
    const runnable = { ...live, image: live.image, port: live.port };
    const rolloutPlan = plan(runnable, await this.deps.runtime.list({ app: app.name }));
    // A scheduler keeping the formation itself is always told: the plan reads processes by number
    // (web.1..N), which says nothing of the tasks Swarm chose to keep (web.1 and web.3 of a web=2).
    if (!this.rolling && rolloutPlan.start.length === 0 && rolloutPlan.retire.length === 0) {
      commit();
      return;
    }
    try {
      await this.deps.rollout.run(rolloutPlan, new DeployOutput(() => undefined), { commit });
    } catch (failure) {
      const error = failure instanceof RolloutFailure ? failure.cause : failure;
      if (error instanceof DeployError) throw new DeployError(error.code, `${error.message}; v${live.version} serves on as before`, { cause: error });
      throw error;
    }
  }

  /** From the app as it is now, under the lock: limits, capabilities and links a change just wrote. */
  private runtimeOf(app: App, live: RunnableRelease) {
    return releaseRuntime(this.deps.apps.findByName(app.name) ?? app, live, this.deps.settings, this.deps.volumes.list(app.id));
  }

  private unknownType(live: Release, type: string): string {
    return `v${live.version} has no process type "${type}" (its types: ${Object.keys(live.processes).join(', ') || 'none'})`;
  }

  private requireLive(app: App): Release {
    const live = this.deps.releases.live(app.id);
    if (!live) throw new ConflictError(`${app.name} has no live release yet: push to deploy it first`);
    return live;
  }

  /** The live release's processes in its slot, up to each type's quantity (those past it are draining away). */
  private async serving(app: App, live: Release, quantities: Readonly<Record<string, number>>): Promise<AppProcess[]> {
    const processes = await this.deps.runtime.list({ app: app.name, release: live.version });
    return processes.filter((process) => isServing(process, live, quantities, this.rolling));
  }
}

/**
 * Whether a process of the live release's slot serves: up to its type's quantity (those past it
 * drain away), or any that a scheduler keeping the formation itself runs (`rolling`: Swarm picks
 * which tasks a scale-down keeps, web.1 and web.3 as readily as web.1 and web.2).
 */
function isServing(process: AppProcess, live: Release, quantities: Readonly<Record<string, number>>, rolling: boolean): boolean {
  return process.identity.slot === live.slot && (rolling || process.identity.index <= (quantities[process.identity.type] ?? 0));
}
