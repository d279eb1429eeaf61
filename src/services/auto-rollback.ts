import type { Logger } from 'pino';
import type { AppStore, EventLog, ReleaseStore } from '../domain/ports.js';
import type { App, PilotEvent, Release } from '../domain/types.js';
import { AUTO_ROLLBACK_AUTHOR } from '../domain/release-authors.js';
import type { AppChange, Deployer } from '../pipeline/deploy.js';
import type { Events } from './events.js';

/** A release under watch: it went live at `since`; a trouble of it before `until` rolls it back. */
interface Watch {
  readonly version: number;
  readonly until: number;
  rolling: boolean;
}

/** What makes a watched release go back: its web processes turning unhealthy, or any process crash-looping. */
const TROUBLE: readonly PilotEvent['kind'][] = ['process.unhealthy', 'process.crash-loop'];
/** A release that goes live starts a watch, but a rollback (by hand or by Pilot) does not: it is the way back. */
const WATCHED: readonly PilotEvent['kind'][] = ['deploy.succeeded', 'config.changed'];

export interface AutoRollbackDeps {
  readonly apps: Pick<AppStore, 'findByName'>;
  readonly releases: Pick<ReleaseStore, 'list' | 'appendLog'>;
  readonly deployer: Pick<Deployer, 'changeApp'>;
  readonly events: EventLog;
  /** Seconds a release is watched after it went live (PILOT_WATCH_SECONDS); 0: never. */
  readonly watchSeconds: (app: App) => number;
  readonly logger: Logger;
}

/**
 * Watches each release for a while after it went live: if its processes crash-loop or its
 * web processes turn unhealthy meanwhile, rolls the app back to the release that served
 * before, blue/green through Deployer.changeApp as any rollback, records why (in the new
 * release's log and an event, which the webhooks hear of).
 */
export class AutoRollback {
  private readonly watches = new Map<string, Watch>();
  private readonly rollbacks = new Set<Promise<void>>();
  private unfollow: (() => void) | undefined;

  constructor(private readonly deps: AutoRollbackDeps) {}

  start(events: Pick<Events, 'follow'>): void {
    this.unfollow = events.follow('all', (event) => this.hear(event));
  }

  async stop(): Promise<void> {
    this.unfollow?.();
    await Promise.allSettled([...this.rollbacks]);
  }

  /** Resolves once the rollbacks under way ended (tests). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.rollbacks]);
  }

  private hear(event: PilotEvent): void {
    if (event.app === null || event.release === null) return;
    const app = this.deps.apps.findByName(event.app);
    if (!app) return;
    if (WATCHED.includes(event.kind)) {
      const seconds = this.deps.watchSeconds(app);
      if (seconds > 0) this.watches.set(app.name, { version: event.release, until: Date.now() + seconds * 1000, rolling: false });
      else this.watches.delete(app.name);
      return;
    }
    if (event.kind === 'rollback' || event.kind === 'deploy.started') return void this.watches.delete(app.name);
    const watch = this.watches.get(app.name);
    if (!TROUBLE.includes(event.kind) || !watch || watch.rolling || watch.version !== event.release) return;
    if (Date.now() > watch.until) return void this.watches.delete(app.name);
    watch.rolling = true;
    const rollback = this.rollBack(app, watch.version, event.message).finally(() => this.rollbacks.delete(rollback));
    this.rollbacks.add(rollback);
  }

  private async rollBack(app: App, version: number, reason: string): Promise<void> {
    let target: Release | undefined;
    const decide = (live: Release | undefined): AppChange => {
      // Decided under the app's lock: a push or a rollback by hand since then wins.
      target = live?.version === version ? this.deps.releases.list(app.id).find((release) => release.version < version && release.status === 'retired') : undefined;
      if (!target) return { commit: () => undefined };
      return { commit: () => undefined, release: { kind: 'rollback', from: target, config: target.config, buildKeys: target.buildKeys, madeBy: AUTO_ROLLBACK_AUTHOR } };
    };
    const why = `automatic rollback of v${version}: ${reason}`;
    try {
      const release = await this.deps.deployer.changeApp(app, decide, (line) => this.deps.logger.info({ app: app.name }, line));
      if (!release || !target) {
        this.deps.logger.warn({ app: app.name, release: version }, `no automatic rollback of v${version}: it no longer serves, or no earlier release served`);
        return;
      }
      this.deps.releases.appendLog(release.id, `${why}\n`);
      this.deps.events.record({ appId: app.id, app: app.name, kind: 'rollback.automatic', release: release.version, message: `${why}; v${target.version} serves again as v${release.version}` });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.deps.events.record({ appId: app.id, app: app.name, kind: 'rollback.failed', release: version, message: `${why} failed: ${message}` });
    } finally {
      this.watches.delete(app.name);
    }
  }
}
