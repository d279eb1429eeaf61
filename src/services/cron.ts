import type { Logger } from 'pino';
import type { AppStore, CronRunStore, ReleaseStore } from '../domain/ports.js';
import type { App, CronEntry, CronRun, Release } from '../domain/types.js';
import { CRON_OUTPUT_KEPT_CHARS } from '../domain/types.js';
import { nextRunAfter } from '../pipeline/cron.js';

/** Node's timers hold at most ~24.8 days: a longer wait (@yearly) wakes up on the way and waits again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Time as the scheduler sees it; tests pass a fake one and move it forward. */
export interface CronClock {
  now(): Date;
  /** Calls `wake` once after `ms`; the returned function cancels it. */
  setTimer(ms: number, wake: () => void): () => void;
}

export const systemClock: CronClock = {
  now: () => new Date(),
  setTimer(ms, wake) {
    const timer = setTimeout(wake, ms);
    // A pending schedule never keeps Pilot from exiting.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface CronProcess {
  readonly exitCode: Promise<number>;
  kill(): Promise<void>;
}

/** Starts a command in a one-off container of a release (src/services/one-off.ts; a fake in tests). */
export interface CronRunner {
  start(app: App, release: Release, command: string, onOutput: (text: string) => void): Promise<CronProcess>;
}

export interface CronSchedulerDeps {
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly runs: CronRunStore;
  readonly runner: CronRunner;
  readonly clock: CronClock;
  readonly logger: Logger;
}

/** An entry of the live release as `pilot cron` lists it. */
export interface CronEntryStatus {
  readonly entry: CronEntry;
  /** Undefined: in maintenance, or the schedule never comes again. */
  readonly nextRunAt: string | undefined;
  readonly lastRun: CronRun | undefined;
}

interface Pending {
  readonly due: Date;
  cancel: () => void;
}

interface Running {
  readonly scheduledAt: string;
  process: CronProcess | undefined;
  readonly done: Promise<void>;
}

/**
 * Runs the app.json cron entries of every live release on their schedules, each run a one-off
 * container of the release live at that moment. An entry whose previous run is still going
 * is not started again: that time is recorded as skipped. The schedule of an app follows its
 * live release (`refresh` after each release goes live, `forget` when the app goes).
 */
export class CronScheduler {
  /** App id → entry id → the next wake-up. */
  private readonly pending = new Map<number, Map<string, Pending>>();
  /** `appId/entryId` → the run going on. */
  private readonly running = new Map<string, Running>();
  private started = false;

  constructor(private readonly deps: CronSchedulerDeps) {}

  /** Schedules every app's live release; runs cut short by the last stop are recorded as interrupted. */
  start(): void {
    const interrupted = this.deps.runs.interruptRunning();
    if (interrupted > 0) this.deps.logger.warn({ interrupted }, 'cron runs going when Pilot stopped are recorded as interrupted');
    this.started = true;
    for (const app of this.deps.apps.list()) this.refresh(app);
  }

  /** Reschedules the app from its live release: entries added, changed or removed by the release take effect now. */
  refresh(app: App): void {
    this.forget(app.id);
    if (!this.started) return;
    const live = this.deps.releases.live(app.id);
    if (!live?.image) return;
    const entries = new Map<string, Pending>();
    this.pending.set(app.id, entries);
    for (const entry of live.cron.filter((candidate) => !candidate.maintenance)) {
      try {
        this.arm(app.name, app.id, entry, this.deps.clock.now());
      } catch (error) {
        // Validated at its deploy; one entry a newer parser refuses must not stop the others (or Pilot's start).
        this.deps.logger.error({ err: error, app: app.name, entry: entry.id, schedule: entry.schedule }, 'cron entry not scheduled');
      }
    }
  }

  /** No more runs of the app (destroyed); a run going on ends with its container. */
  forget(appId: number): void {
    for (const pending of this.pending.get(appId)?.values() ?? []) pending.cancel();
    this.pending.delete(appId);
  }

  /** Cancels every schedule and stops the runs going on (recorded as interrupted). */
  async stop(): Promise<void> {
    this.started = false;
    for (const appId of [...this.pending.keys()]) this.forget(appId);
    const running = [...this.running.values()];
    await Promise.all(running.map((run) => run.process?.kill()));
    await Promise.all(running.map((run) => run.done));
  }

  /** The live release's entries with their next run and last run. */
  entries(app: App): CronEntryStatus[] {
    const live = this.deps.releases.live(app.id);
    const latest = this.deps.runs.latest(app.id);
    const pending = this.pending.get(app.id);
    return (live?.cron ?? []).map((entry) => ({
      entry,
      nextRunAt: pending?.get(entry.id)?.due.toISOString(),
      lastRun: latest.get(entry.id),
    }));
  }

  /** Recorded runs of the app, newest first; only one entry's when given. */
  runs(app: App, options: { entryId?: string; limit: number }): CronRun[] {
    return this.deps.runs.list(app.id, options);
  }

  private arm(appName: string, appId: number, entry: CronEntry, after: Date): void {
    const entries = this.pending.get(appId);
    const due = nextRunAfter(entry.schedule, after);
    if (!entries) return;
    if (!due) {
      entries.delete(entry.id);
      return;
    }
    const pending: Pending = { due, cancel: () => undefined };
    entries.set(entry.id, pending);
    const wait = (): void => {
      const delay = due.getTime() - this.deps.clock.now().getTime();
      if (delay > 0) {
        pending.cancel = this.deps.clock.setTimer(Math.min(delay, MAX_TIMER_MS), wait);
        return;
      }
      this.fire(appName, appId, entry, due);
      // From now, not from `due`: times missed while Pilot was busy or asleep are not caught up in a burst.
      this.arm(appName, appId, entry, new Date(Math.max(due.getTime(), this.deps.clock.now().getTime())));
    };
    wait();
  }

  private fire(appName: string, appId: number, entry: CronEntry, due: Date): void {
    const app = this.deps.apps.findByName(appName);
    const live = app && this.deps.releases.live(app.id);
    if (!app || !live || app.id !== appId) return;
    const run = { appId, entryId: entry.id, command: entry.command, releaseVersion: live.version, scheduledAt: due.toISOString() };
    const key = `${appId}/${entry.id}`;
    const previous = this.running.get(key);
    if (previous) {
      this.deps.runs.record({ ...run, status: 'skipped', output: `not started: the run scheduled at ${previous.scheduledAt} was still going` });
      return;
    }
    const state: Running = {
      scheduledAt: run.scheduledAt,
      process: undefined,
      done: this.execute(app, live, entry, this.deps.runs.start(run), (process) => (state.process = process)).finally(() => this.running.delete(key)),
    };
    this.running.set(key, state);
  }

  private async execute(app: App, release: Release, entry: CronEntry, run: CronRun, started: (process: CronProcess) => void): Promise<void> {
    let output = '';
    const append = (text: string): void => {
      output = (output + text).slice(-CRON_OUTPUT_KEPT_CHARS);
    };
    try {
      const process = await this.deps.runner.start(app, release, entry.command, append);
      started(process);
      if (!this.started) void process.kill();
      const exitCode = await process.exitCode;
      const status = !this.started ? 'interrupted' : exitCode === 0 ? 'succeeded' : 'failed';
      this.deps.runs.finish(run.id, { status, exitCode, output });
    } catch (error) {
      this.deps.logger.warn({ err: error, app: app.name, entry: entry.id }, 'cron run failed to run');
      append(`\n[not run: ${error instanceof Error ? error.message : String(error)}]\n`);
      this.deps.runs.finish(run.id, { status: this.started ? 'failed' : 'interrupted', exitCode: null, output });
    }
  }
}
