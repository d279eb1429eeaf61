import type { Logger } from 'pino';
import type { AppProcess, AppRuntime, CheckedProcess, ProcessToStart, ReleaseRuntime, ReleaseStore, Replacement, StartedProcess } from '../domain/ports.js';
import type { App, Release, Slot } from '../domain/types.js';
import { otherSlot } from '../domain/types.js';
import { PilotError, ProcessCheckError } from '../domain/errors.js';
import { compareProcesses, processLabel } from '../domain/process-identity.js';
import { formationProcesses } from './start.js';
import { runReleaseTask, tasksAfterSwitch, tasksBeforeStart } from './release-phase.js';
import type { DeployOutput } from './output.js';
import type { Candidate } from './switch.js';

/** A process without HTTP passes its check when it still runs this long after starting. */
export const WORKER_SETTLE_SECONDS = 3;

/** A release that has an image to run. */
export type RunnableRelease = Release & { readonly image: string; readonly port: number };

/**
 * One rollout, as a value: what starts in which slot, what serves on beside it, what stops
 * serving at the switch. Deploys, config changes, rollbacks, limits and storage changes,
 * restarts and scale changes are all one of these (built by the plan functions below).
 */
export interface RolloutPlan {
  readonly app: App;
  /** What serves once the switch went through: a new release (`promote`), or the live one in a new shape. */
  readonly release: RunnableRelease;
  /** The new release goes live at the switch (release phase and postdeploy run); else the live release changes shape. */
  readonly promote: boolean;
  readonly slot: Slot;
  readonly runtime: ReleaseRuntime;
  readonly start: readonly ProcessToStart[];
  /** Processes of the live release that serve on beside the new ones (a scale change). */
  readonly keep: readonly AppProcess[];
  /** Processes that stop serving at the switch: retired once they drained. */
  readonly retire: readonly AppProcess[];
  /** How many of each type run once the rollout is done. */
  readonly quantities: Readonly<Record<string, number>>;
  /** The app's first release to go live (app.json's first-deploy script runs after it). */
  readonly firstLiveRelease: boolean;
  /** Every process is new (a release, a restart, a rename), not only the missing ones (a scale change). */
  readonly renew: boolean;
}

/** A new release of the app: its whole formation in the slot the live release does not use. */
export function planRelease(
  app: App,
  release: RunnableRelease,
  previous: Release | undefined,
  runtime: ReleaseRuntime,
  quantities: Readonly<Record<string, number>>,
  existing: readonly AppProcess[],
): RolloutPlan {
  const slot = otherSlot(previous?.slot ?? null);
  return {
    app, release, promote: true, slot, runtime, quantities, keep: [], firstLiveRelease: previous === undefined, renew: true,
    start: formationProcesses({ app: app.name, version: release.version, processes: release.processes }, slot, quantities),
    retire: existing.filter((process) => process.identity.slot !== slot),
  };
}

/** The live release again, every process new in the other slot: a restart without a dropped request. */
export function planRestart(app: App, live: RunnableRelease, runtime: ReleaseRuntime, quantities: Readonly<Record<string, number>>, existing: readonly AppProcess[]): RolloutPlan {
  const slot = otherSlot(live.slot);
  return {
    app, release: live, promote: false, slot, runtime, quantities, keep: [], firstLiveRelease: false, renew: true,
    start: formationProcesses({ app: app.name, version: live.version, processes: live.processes }, slot, quantities),
    retire: existing.filter((process) => process.identity.slot !== slot),
  };
}

/**
 * The live release under the app's new name: every process new in the other slot with the
 * new identity (its name, network, labels), serving at the new name's routes from the switch;
 * the live release's processes under the old name retire once they drained.
 */
export function planRename(renamed: App, live: RunnableRelease, runtime: ReleaseRuntime, quantities: Readonly<Record<string, number>>, existing: readonly AppProcess[]): RolloutPlan {
  const slot = otherSlot(live.slot);
  return {
    app: renamed, release: live, promote: false, slot, runtime, quantities, keep: [], firstLiveRelease: false, renew: true,
    start: formationProcesses({ app: renamed.name, version: live.version, processes: live.processes }, slot, quantities),
    retire: existing.filter((process) => process.identity.release === live.version),
  };
}

/**
 * The live release at new quantities, in its slot: the missing processes start, those past a
 * type's new quantity retire, the others serve on untouched. One still draining from an
 * earlier scale-down is not reused: the rollout waits for its retirement and starts it anew.
 */
export function planScale(
  app: App,
  live: RunnableRelease,
  runtime: ReleaseRuntime,
  quantities: Readonly<Record<string, number>>,
  existing: readonly AppProcess[],
  /** The quantities that serve now: processes past them drain away (a scale-down) and never count as running. */
  serving: Readonly<Record<string, number>>,
): RolloutPlan {
  const slot = live.slot ?? 'blue';
  const current = existing.filter(
    (process) => process.identity.release === live.version && process.identity.slot === slot && process.identity.index <= (serving[process.identity.type] ?? 0),
  );
  const wanted = formationProcesses({ app: app.name, version: live.version, processes: live.processes }, slot, quantities);
  const isWanted = (process: AppProcess): boolean => process.identity.index <= (quantities[process.identity.type] ?? 0);
  const running = new Set(current.map((process) => processLabel(process.identity)));
  return {
    app, release: live, promote: false, slot, runtime, quantities, firstLiveRelease: false, renew: false,
    start: wanted.filter((process) => !running.has(processLabel(process.identity))),
    keep: current.filter(isWanted),
    retire: current.filter((process) => !isWanted(process)),
  };
}

/**
 * The live release as its switch left it: its slot, its formation, each type's processes kept
 * where they run it already. What a rolling scheduler is put back on when it runs something else.
 */
export function planRestore(app: App, live: RunnableRelease, runtime: ReleaseRuntime, quantities: Readonly<Record<string, number>>, existing: readonly AppProcess[]): RolloutPlan {
  return planScale(app, live, runtime, quantities, existing, quantities);
}

export interface RolloutDeps {
  readonly runtime: AppRuntime;
  readonly releases: ReleaseStore;
  readonly routes: { switchTo(candidate: Candidate, commit: () => void): Promise<void> };
  readonly settings: {
    readonly drainSeconds: number;
    readonly stopTimeoutSeconds: number;
    readonly healthTimeoutSeconds: number;
    readonly buildTimeoutSeconds: number;
  };
  readonly logger: Logger;
}

export interface RolloutHooks {
  /** Writes the change the rollout makes, in the same step as the switch (after it, nothing can undo it). */
  readonly commit: () => void;
  /** Told right after the switch (the cron schedule follows the live release); its failure is logged only. */
  readonly afterSwitch?: () => void;
  /** Runs once the retired processes are gone (image pruning). */
  readonly afterRetire?: () => Promise<void>;
}

/** A rollout that failed before its switch: what it started is gone; `lastLogs` are the failing process's. */
export class RolloutFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly lastLogs: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

interface Retirement {
  readonly app: string;
  readonly slot: Slot;
  readonly version: number;
  readonly done: Promise<void>;
}

/**
 * Runs rollout plans: release phase → start → check → switch → drain → retire → postdeploy.
 * Failing before the switch removes what it started and changes nothing else; the retired
 * processes stop only after the switch and their drain. Callers hold the app's lock.
 */
export class Rollout {
  /** Retirements under way: their processes hold a slot until they are gone. */
  private readonly retirements = new Set<Retirement>();

  constructor(private readonly deps: RolloutDeps) {}

  async run(plan: RolloutPlan, output: DeployOutput, hooks: RolloutHooks): Promise<void> {
    const { releases, runtime } = this.deps;
    const { release } = plan;
    if (plan.promote) {
      for (const task of tasksBeforeStart(release)) await runReleaseTask(runtime, plan.runtime, task, output, this.deps.settings.buildTimeoutSeconds);
    }
    if (runtime.replace) return this.runRolling(plan, runtime.replace.bind(runtime), output, hooks);
    await this.waitForDrain(plan, output);
    if (plan.promote) {
      output.step(`Releasing v${release.version}`);
      releases.transition(release.id, 'starting', { slot: plan.slot });
      reportIdleTypes(plan.app.name, plan.quantities, output);
    }
    await this.removeLeftovers(plan);
    const started: StartedProcess[] = [];
    let checked: Awaited<ReturnType<AppRuntime['check']>>;
    try {
      const processes = await runtime.start(plan.runtime, plan.start, (process) => started.push(process));
      if (plan.promote) releases.transition(release.id, 'checking', { containerId: processes[0]?.id });
      checked = await runtime.check(processes, {
        port: release.port,
        healthChecks: release.healthChecks,
        healthTimeoutSeconds: this.deps.settings.healthTimeoutSeconds,
        settleSeconds: WORKER_SETTLE_SECONDS,
      });
      reportChecks(checked, output);
      await runtime.keepServing(processes);
      await this.switchTraffic(plan, checked.processes, hooks.commit);
    } catch (error) {
      throw await this.undo(error, started);
    }
    this.announce(plan, hooks.afterSwitch);
    if (plan.promote) {
      const routed = checked.processes.some((process) => process.upstream);
      output.step(routed ? `Switched traffic to v${release.version}` : `v${release.version} is live (no web process: no route)`);
      const previous = plan.retire[0]?.identity.release;
      if (previous !== undefined) output.step(`Retiring v${previous} after ${this.deps.settings.drainSeconds} s of drain`);
    }
    this.retireLater(plan, hooks.afterRetire);
    if (plan.promote) await this.runPostdeployTasks(plan, output);
  }

  /**
   * The plan on a scheduler that replaces processes itself (Swarm): it rolls the formation out
   * one process at a time, the routes following its processes of either release as they come
   * and go (RouteTable's `rolling`); the switch then records the release live with every
   * process serving. A rollback by the scheduler fails the plan with the old processes serving;
   * a failure after the replace (the switch, the promotion) takes the replace back, so what runs
   * is what the database says serves.
   */
  private async runRolling(plan: RolloutPlan, replace: NonNullable<AppRuntime['replace']>, output: DeployOutput, hooks: RolloutHooks): Promise<void> {
    const { releases, runtime, settings } = this.deps;
    const { release } = plan;
    if (plan.promote) {
      output.step(`Releasing v${release.version}`);
      releases.transition(release.id, 'starting', { slot: plan.slot });
      reportIdleTypes(plan.app.name, plan.quantities, output);
      releases.transition(release.id, 'checking');
    }
    let replacement: Replacement | undefined;
    try {
      replacement = await replace({
        runtime: plan.runtime,
        processes: release.processes,
        quantities: plan.quantities,
        slot: plan.slot,
        renew: plan.renew,
        checks: { port: release.port, healthChecks: release.healthChecks, healthTimeoutSeconds: settings.healthTimeoutSeconds, settleSeconds: WORKER_SETTLE_SECONDS },
        drainSeconds: settings.drainSeconds,
        stopTimeoutSeconds: settings.stopTimeoutSeconds,
        onOutput: (line) => output.step(line),
      });
      const serving = (await runtime.list({ app: plan.app.name })).filter((process) => process.identity.type === 'web' && process.running);
      const first = serving.sort((a, b) => compareProcesses(a.identity, b.identity))[0];
      const candidate: Candidate = {
        appId: plan.app.id,
        name: plan.app.name,
        release: { ...release, slot: plan.slot, status: 'live' },
        upstreams: serving.flatMap((process) => runtime.routeTarget(process, release.port) ?? []),
        processIds: serving.map((process) => process.id),
      };
      await this.deps.routes.switchTo(candidate, () => {
        releases.update(release.id, { slot: plan.slot, ...(first ? { containerId: first.id } : {}) });
        if (plan.promote) releases.promote(release.id);
        hooks.commit();
      });
    } catch (error) {
      if (replacement) await this.undoReplacement(plan, replacement, output);
      const failed = error instanceof ProcessCheckError && error.processId ? error.processId : undefined;
      throw new RolloutFailure(error, failed ? await runtime.lastLogs(failed, 20).catch(() => '') : '');
    }
    this.announce(plan, hooks.afterSwitch);
    if (plan.promote) output.step(`v${release.version} is live on every task`);
    // The scheduler replaced the app's own processes; those under another name (a rename) are Pilot's to retire.
    const renamed = plan.retire.filter((process) => process.identity.app !== plan.app.name);
    if (renamed.length > 0) this.track(plan.app.name, release.version, plan.slot, renamed, hooks.afterRetire);
    else void hooks.afterRetire?.();
    if (plan.promote) await this.runPostdeployTasks(plan, output);
  }

  /**
   * The replace went through but the rollout failed after it: the processes go back to what ran
   * before (the live release, in its formation), unless the release went live after all. A failed
   * undo is told: the scheduler then runs something the database does not say serves.
   */
  private async undoReplacement(plan: RolloutPlan, replacement: Replacement, output: DeployOutput): Promise<void> {
    const { releases, logger } = this.deps;
    if (plan.promote && releases.get(plan.release.id)?.status === 'live') return;
    const live = releases.live(plan.app.id);
    // Why it failed is told next, as for any failed release.
    output.step(`The switch failed after the rolling update: putting ${plan.app.name}'s processes back ${live ? `on v${live.version}` : 'as they were'}`);
    try {
      await replacement.undo();
    } catch (undoError) {
      logger.error({ err: undoError, app: plan.app.name }, 'a rolling update could not be taken back');
      output.error(undoError instanceof Error ? undoError.message : String(undoError));
    }
  }

  /** The switch happened whatever a listener does: its failure is logged, never the rollout's. */
  private announce(plan: RolloutPlan, afterSwitch: (() => void) | undefined): void {
    try {
      afterSwitch?.();
    } catch (error) {
      this.deps.logger.error({ err: error, app: plan.app.name }, 'a listener of a release going live failed');
    }
  }

  /** Retires processes in the background once they drained (a release that served until a crash of Pilot). */
  retire(app: App, version: number, slot: Slot, processes: readonly AppProcess[], afterRetire?: () => Promise<void>): void {
    this.track(app.name, version, slot, processes, afterRetire);
  }

  /** Resolves once every retirement under way ended (Pilot stopping). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.retirements].map((retirement) => retirement.done));
  }

  private async switchTraffic(plan: RolloutPlan, checked: readonly CheckedProcess[], commit: () => void): Promise<void> {
    const { releases, runtime } = this.deps;
    const kept = plan.keep.filter((process) => process.identity.type === 'web');
    const upstreams = [
      ...kept.flatMap((process) => runtime.routeTarget(process, plan.release.port) ?? []),
      ...checked.flatMap((process) => (process.upstream ? [process.upstream] : [])),
    ];
    const candidate: Candidate = {
      appId: plan.app.id,
      name: plan.app.name,
      release: { ...plan.release, slot: plan.slot, status: 'live' },
      upstreams,
      processIds: [...kept.map((process) => process.id), ...checked.filter((process) => process.upstream).map((process) => process.id)],
    };
    // The release's first process (web.1 when it has one) is the one its logs and status follow.
    const first = [...plan.keep, ...checked].sort((a, b) => compareProcesses(a.identity, b.identity))[0];
    await this.deps.routes.switchTo(candidate, () => {
      if (plan.promote) releases.promote(plan.release.id);
      else releases.update(plan.release.id, { slot: plan.slot, ...(first ? { containerId: first.id } : {}) });
      commit();
    });
  }

  /** The release before the live one may still drain in the slot this rollout starts in: let its requests finish. */
  private async waitForDrain(plan: RolloutPlan, output: DeployOutput): Promise<void> {
    for (const retirement of [...this.retirements]) {
      if (retirement.app !== plan.app.name || retirement.slot !== plan.slot) continue;
      output.step(`Waiting for v${retirement.version} to finish draining`);
      await retirement.done;
    }
  }

  /** Processes in the slot that neither serve nor retire (an interrupted deploy, an old scale): replaced. */
  private async removeLeftovers(plan: RolloutPlan): Promise<void> {
    const accounted = new Set([...plan.keep, ...plan.retire].map((process) => process.id));
    const inSlot = await this.deps.runtime.list({ app: plan.app.name, slot: plan.slot });
    await this.deps.runtime.remove(inSlot.filter((process) => !accounted.has(process.id)).map((process) => process.id));
  }

  private async undo(error: unknown, started: readonly StartedProcess[]): Promise<RolloutFailure> {
    const failed = error instanceof ProcessCheckError ? error.processId : started[0]?.id;
    const lastLogs = failed ? await this.deps.runtime.lastLogs(failed, 20).catch(() => '') : '';
    await this.deps.runtime.remove(started.map((process) => process.id)).catch((removal: unknown) => {
      this.deps.logger.error({ err: removal }, 'could not remove the processes of a failed rollout');
    });
    return new RolloutFailure(error, lastLogs);
  }

  private retireLater(plan: RolloutPlan, afterRetire: (() => Promise<void>) | undefined): void {
    if (plan.retire.length === 0) {
      void afterRetire?.();
      return;
    }
    const version = plan.retire[0]?.identity.release ?? plan.release.version;
    this.track(plan.app.name, version, plan.retire[0]?.identity.slot ?? plan.slot, plan.retire, afterRetire);
  }

  private track(app: string, version: number, slot: Slot, processes: readonly AppProcess[], afterRetire: (() => Promise<void>) | undefined): void {
    const { runtime, settings, logger } = this.deps;
    const done = new Promise((resolve) => setTimeout(resolve, settings.drainSeconds * 1000))
      .then(() => runtime.retire(processes, settings.stopTimeoutSeconds))
      .then(() => afterRetire?.())
      .catch((error: unknown) => logger.error({ err: error, app, release: version }, 'retiring failed'))
      .finally(() => this.retirements.delete(retirement));
    const retirement: Retirement = { app, slot, version, done };
    this.retirements.add(retirement);
  }

  /** The release already serves: a failing postdeploy task is reported, and never fails the release. */
  private async runPostdeployTasks(plan: RolloutPlan, output: DeployOutput): Promise<void> {
    for (const task of tasksAfterSwitch(plan.release, plan.firstLiveRelease)) {
      try {
        await runReleaseTask(this.deps.runtime, plan.runtime, task, output, this.deps.settings.buildTimeoutSeconds);
      } catch (error) {
        output.error(`${describeFailure(error, this.deps.logger)}; v${plan.release.version} stays live (this script runs after the switch)`);
      }
    }
  }
}

function reportChecks(checked: Awaited<ReturnType<AppRuntime['check']>>, output: DeployOutput): void {
  if (checked.health) output.step(`Health check passed (${checked.health.attempts} attempts, ${(checked.health.elapsedMs / 1000).toFixed(1)} s)`);
  const others = checked.processes.filter((process) => process.identity.type !== 'web');
  if (others.length > 0) output.step(`${others.map((process) => processLabel(process.identity)).join(', ')} running after ${WORKER_SETTLE_SECONDS} s`);
}

/** Says which process types do not start: at 0, as every type but web is until scaled. */
function reportIdleTypes(app: string, quantities: Readonly<Record<string, number>>, output: DeployOutput): void {
  const idle = Object.keys(quantities).filter((type) => quantities[type] === 0).sort();
  const first = idle[0];
  if (first === undefined) return;
  const one = idle.length === 1;
  const how = `\`pilot ps:scale ${first}=1 -a ${app}\` or app.json formation`;
  if (Object.values(quantities).every((quantity) => quantity === 0)) {
    output.step(`No process runs: ${idle.join(', ')} ${one ? 'is' : 'are'} at 0; scale ${one ? 'it' : 'them'} with ${how}`);
  } else {
    output.step(`Not started: ${idle.join(', ')} at 0 (${how} runs ${one ? 'it' : 'them'})`);
  }
}

/** A failure as the pusher reads it: Pilot's own message, or an internal error (logged in full). */
export function describeFailure(error: unknown, logger: Logger): string {
  if (error instanceof PilotError) return error.message;
  logger.error({ err: error }, 'deploy failed with an internal error');
  // Deploy tokens read failure reasons: a raw engine error may quote the environment (KEY=value).
  const message = (error instanceof Error ? error.message : String(error)).replace(/[A-Za-z_][A-Za-z0-9_]*=[\s\S]*/, '(the rest may quote config values: see the Pilot log)');
  return `internal error: ${message}`;
}
