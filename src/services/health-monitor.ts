import type { Logger } from 'pino';
import type { AppRuntime, AppStore, EventLog, FormationStore, ReleaseStore } from '../domain/ports.js';
import { processLabel } from '../domain/process-identity.js';
import type { Release } from '../domain/types.js';
import { processQuantities } from '../pipeline/start.js';
import type { LiveProcess, LiveState } from './live-state.js';

export interface HealthMonitorSettings {
  /** 0: no monitoring. */
  readonly healthIntervalSeconds: number;
  readonly unhealthyAfter: number;
  readonly crashLoopRestarts: number;
  readonly crashLoopMinutes: number;
  readonly stopTimeoutSeconds: number;
}

export interface HealthMonitorDeps {
  readonly apps: Pick<AppStore, 'list'>;
  readonly releases: Pick<ReleaseStore, 'allLive'>;
  readonly formation: Pick<FormationStore, 'get'>;
  readonly live: Pick<LiveState, 'list' | 'setHealth' | 'subscribe'>;
  readonly runtime: Pick<AppRuntime, 'probe' | 'restart'>;
  /** The routes follow a process leaving or joining the healthy ones. */
  readonly routes: { reload(): Promise<void> };
  /** A process is not restarted while a rollout of its app runs (the rollout decides what serves). */
  readonly isDeploying: (app: string) => boolean;
  readonly events: EventLog;
  readonly settings: HealthMonitorSettings;
  readonly logger: Logger;
}

/**
 * Checks each serving web process of every live release on an interval, with the release's
 * health checks (app.json's, else the deploy check's path), one GET each. After
 * `unhealthyAfter` failures in a row a process is unhealthy: it leaves the route (while
 * others serve) and is restarted; once it passes again it is healthy and routed again.
 * A process the runtime restarts `crashLoopRestarts` times within `crashLoopMinutes` is
 * reported as crash-looping.
 */
export class HealthMonitor {
  /** Failed checks in a row, by process id. */
  private readonly failures = new Map<string, number>();
  /** When the runtime restarted each process, within the crash-loop window. */
  private readonly crashes = new Map<string, number[]>();
  /** Processes reported as crash-looping, until their window has no more crash. */
  private readonly looping = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private round: Promise<void> | undefined;

  constructor(private readonly deps: HealthMonitorDeps) {}

  start(): void {
    this.unsubscribe = this.deps.live.subscribe((event) => {
      if (event.kind === 'crashed') this.crashed(event.process.id, event.process.identity.app, processLabel(event.process.identity), event.process.identity.release);
    });
    const interval = this.deps.settings.healthIntervalSeconds * 1000;
    if (interval === 0) return;
    const tick = (): void => {
      this.round = this.checkAll().catch((error: unknown) => this.deps.logger.error({ err: error }, 'health monitoring round failed'));
      void this.round.then(() => {
        if (this.timer) this.timer = setTimeout(tick, interval);
      });
    };
    this.timer = setTimeout(tick, interval);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round: every serving web process of every live release, side by side. */
  async checkAll(): Promise<void> {
    const names = new Map(this.deps.apps.list().map((app) => [app.id, app]));
    const checks: Promise<boolean>[] = [];
    const seen = new Set<string>();
    for (const release of this.deps.releases.allLive()) {
      const app = names.get(release.appId);
      if (!app || !release.port || release.slot === null) continue;
      const webScale = processQuantities(release, this.deps.formation.get(app.id)).web ?? 0;
      const web = this.deps.live.list({ app: app.name, release: release.version, slot: release.slot }).filter(
        (process) => process.identity.type === 'web' && process.identity.index <= webScale && process.running,
      );
      for (const process of web) {
        seen.add(process.id);
        checks.push(this.checkOne(app.id, release, process));
      }
    }
    const changed = await Promise.all(checks);
    for (const id of this.failures.keys()) if (!seen.has(id)) this.failures.delete(id);
    if (changed.some(Boolean)) await this.deps.routes.reload().catch((error: unknown) => this.deps.logger.error({ err: error }, 'routes not reloaded after a health change'));
  }

  /** Checks one process; resolves whether its verdict changed (the routes must follow). */
  private async checkOne(appId: number, release: Release, process: LiveProcess): Promise<boolean> {
    const problem = await this.deps.runtime.probe(process, release.port as number, release.healthChecks).catch((error: unknown) => String(error));
    if (problem === undefined) {
      this.failures.delete(process.id);
      if (process.health === 'healthy') return false;
      this.deps.live.setHealth(process.id, 'healthy');
      return process.health === 'unhealthy';
    }
    const failures = (this.failures.get(process.id) ?? 0) + 1;
    this.failures.set(process.id, failures);
    if (failures < this.deps.settings.unhealthyAfter) return false;
    this.failures.delete(process.id);
    const reason = `${problem} (${failures} checks in a row)`;
    const wasUnhealthy = process.health === 'unhealthy';
    this.deps.live.setHealth(process.id, 'unhealthy', reason);
    const app = process.identity.app;
    if (this.deps.isDeploying(app)) return !wasUnhealthy;
    this.deps.logger.warn({ app, release: release.version, process: processLabel(process.identity), reason }, 'restarting an unhealthy process');
    await this.deps.runtime.restart(process.id, this.deps.settings.stopTimeoutSeconds).then(
      () => this.deps.events.record({ appId, app, kind: 'restart', message: `${processLabel(process.identity)} of v${release.version} restarted: it was unhealthy`, release: release.version, process: processLabel(process.identity) }),
      (error: unknown) => this.deps.logger.error({ err: error, app }, 'an unhealthy process could not be restarted'),
    );
    return !wasUnhealthy;
  }

  private crashed(id: string, app: string, label: string, release: number): void {
    const windowMs = this.deps.settings.crashLoopMinutes * 60_000;
    const now = Date.now();
    const recent = [...(this.crashes.get(id) ?? []), now].filter((time) => now - time <= windowMs);
    this.crashes.set(id, recent);
    if (recent.length < this.deps.settings.crashLoopRestarts) {
      this.looping.delete(id);
      return;
    }
    if (this.looping.has(id)) return;
    this.looping.add(id);
    const owner = this.deps.apps.list().find((candidate) => candidate.name === app);
    if (!owner) return;
    this.deps.events.record({
      appId: owner.id, app, kind: 'process.crash-loop', release, process: label,
      message: `${label} of v${release} is crash-looping: ${recent.length} restarts in ${this.deps.settings.crashLoopMinutes} min`,
    });
  }
}
