import type { Logger } from 'pino';
import type { AppProcess, AppRuntime, AppStore, FormationStore, ReleaseStore, ScheduledFormation } from '../domain/ports.js';
import type { App, Release, Slot } from '../domain/types.js';
import { processQuantities } from './start.js';

export interface ReconcileDeps {
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly formation: FormationStore;
  readonly runtime: Pick<AppRuntime, 'list' | 'listOneOffs' | 'remove' | 'retire' | 'scheduled' | 'listSingleHost'>;
  readonly logger: Logger;
}

/** Processes that served until Pilot stopped, to retire after their drain as usual. */
export interface ToRetire {
  readonly app: App;
  readonly version: number;
  readonly slot: Slot;
  readonly processes: readonly AppProcess[];
}

/**
 * At start, before anything else: releases caught in progress by a crash become failed with
 * a reason, so the database says which release serves. Returns `app vN` of each.
 */
export function failInterruptedReleases(deps: ReconcileDeps): string[] {
  const failedReleases: string[] = [];
  const names = new Map(deps.apps.list().map((app) => [app.id, app.name]));
  for (const release of deps.releases.inProgress()) {
    deps.releases.transition(release.id, 'failed', {
      failureReason: `Pilot stopped while this release was ${release.status}; it never served`,
    });
    failedReleases.push(`${names.get(release.appId) ?? `app ${release.appId}`} v${release.version}`);
  }
  if (failedReleases.length > 0) deps.logger.warn({ failedReleases }, 'releases cut short by an unclean stop are marked failed');
  return failedReleases;
}

/**
 * Puts an app back on its live release (in the background, under its lock); `replacing` are the
 * plain containers that ran it on one host, removed once the restore succeeded, left if it failed.
 */
export type Restore = (app: App, reason: string, replacing?: readonly AppProcess[]) => void;

/**
 * At start, once the routes were loaded from the database and before any push is accepted:
 * removes the processes of this instance that never served or serve no more (a deploy cut
 * short, one-off commands and cron runs, a destroyed app). Those that may have served until
 * the last switch (a retired release, the live release's other slot after a restart, its
 * processes past the scale after a scale change) drain first: `retire` is told of them. The serving ones are left alone: apps never depend on the
 * Pilot process. Returns the names of those removed.
 *
 * On a scheduler that replaces processes itself (Swarm: the runtime has `scheduled`), see
 * `reconcileScheduler`.
 */
export async function removeOrphanContainers(deps: ReconcileDeps, retire: (batch: ToRetire) => void, restore: Restore = () => undefined): Promise<string[]> {
  const apps = new Map(deps.apps.list().map((app) => [app.name, app]));
  const orphans: { id: string; name: string }[] = [...(await deps.runtime.listOneOffs())];
  const scheduled = await deps.runtime.scheduled?.();
  let unscheduled: AppProcess[] = [];
  if (scheduled) {
    const outcome = await reconcileScheduler(deps, apps, scheduled, restore);
    unscheduled = outcome.unscheduled;
    orphans.push(...outcome.singleHost);
  } else {
    const outcome = sortProcesses(deps, apps, await deps.runtime.list());
    for (const batch of outcome.draining) retire(batch);
    orphans.push(...outcome.orphans);
  }
  if (unscheduled.length > 0) await deps.runtime.retire(unscheduled, 0);
  await deps.runtime.remove(orphans.map((orphan) => orphan.id));
  const removedContainers = [...unscheduled, ...orphans].map((orphan) => orphan.name);
  if (removedContainers.length > 0) deps.logger.warn({ removedContainers }, 'removed containers that belonged to no live release');
  return removedContainers;
}

/** On one host: the processes that may have served (to drain, by release and slot) and those that never did. */
function sortProcesses(deps: ReconcileDeps, apps: ReadonlyMap<string, App>, processes: readonly AppProcess[]): { draining: ToRetire[]; orphans: AppProcess[] } {
  const draining = new Map<string, ToRetire>();
  const orphans: AppProcess[] = [];
  for (const process of processes) {
    const { app: name, release: version, slot } = process.identity;
    const app = apps.get(name);
    const release = app ? deps.releases.byVersion(app.id, version) : undefined;
    const quantity = release ? (processQuantities(release, deps.formation.get(release.appId))[process.identity.type] ?? 0) : 0;
    if (release?.status === 'live' && slot === release.slot && process.identity.index <= quantity) continue;
    // It served until the last switch (a deploy, or a restart of the live release into the other slot).
    if (app && (release?.status === 'retired' || release?.status === 'live')) {
      const key = `${name} ${version} ${slot}`;
      const batch = draining.get(key) ?? { app, version, slot, processes: [] };
      draining.set(key, { ...batch, processes: [...batch.processes, process] });
      continue;
    }
    orphans.push(process);
  }
  return { draining: [...draining.values()], orphans };
}

/**
 * On a scheduler (Swarm), its processes are not Pilot's to remove one by one: an app whose
 * scheduled formation is not its live release's (a rolling update that Pilot's stop cut short
 * carries on by itself) is handed to `restore`, which puts it back on the live release; the
 * services of an app with no live release (a first deploy cut short, a destroyed app) are
 * retired (`unscheduled`).
 *
 * An app with a live release and no service at all ran on one host before this start in swarm
 * mode (install.sh --manager on a single-host server): `restore` puts it on the swarm, and its
 * plain containers go only once that succeeded, so a failed move loses nothing (those of an app
 * with volumes are stopped before its services start: one writer per volume). Every other
 * plain container of the instance goes now (`singleHost`): its app has no live release, or its
 * services serve already, or its formation is 0 (nothing would run: as a type at 0 on the swarm,
 * the first `ps:scale` creates its services).
 */
async function reconcileScheduler(
  deps: ReconcileDeps,
  apps: ReadonlyMap<string, App>,
  scheduled: readonly ScheduledFormation[],
  restore: Restore,
): Promise<{ unscheduled: AppProcess[]; singleHost: AppProcess[] }> {
  const hasLive = (name: string): boolean => {
    const app = apps.get(name);
    return app !== undefined && deps.releases.live(app.id) !== undefined;
  };
  const unscheduled = (await deps.runtime.list()).filter((process) => !hasLive(process.identity.app));
  const singleHost = (await deps.runtime.listSingleHost?.()) ?? [];
  const kept = new Set<AppProcess>();
  for (const app of apps.values()) {
    const live = deps.releases.live(app.id);
    if (!live) continue;
    const quantities = processQuantities(live, deps.formation.get(app.id));
    const formations = scheduled.filter((formation) => formation.app === app.name);
    if (formations.length === 0) {
      if (!Object.values(quantities).some((quantity) => quantity > 0)) continue;
      const replacing = singleHost.filter((process) => process.identity.app === app.name);
      for (const process of replacing) kept.add(process);
      restore(app, `v${live.version} has no service on the swarm: it ran on one host before swarm mode`, replacing);
      continue;
    }
    const reason = formationDrift(live, quantities, formations);
    if (reason) restore(app, reason);
  }
  return { unscheduled, singleHost: singleHost.filter((process) => !kept.has(process)) };
}

/** Why what a rolling scheduler runs for an app (at least one service) is not its live release at its formation (undefined: it is). */
function formationDrift(live: Release, quantities: Readonly<Record<string, number>>, scheduled: readonly ScheduledFormation[]): string | undefined {
  for (const formation of scheduled) {
    const runs = `${formation.type} is scheduled as v${formation.release}`;
    if (formation.release !== live.version) return `${runs}, but v${live.version} is the live release`;
    if (!(formation.type in live.processes)) return `${runs}, a process type that v${live.version} does not have`;
    if (live.slot !== null && formation.slot !== live.slot) return `${runs} in slot ${formation.slot}, but v${live.version} serves from ${live.slot}`;
    const quantity = quantities[formation.type] ?? 0;
    if (formation.replicas !== quantity) return `${runs} × ${formation.replicas}, but its formation is ${quantity}`;
  }
  const missing = Object.keys(live.processes).find((type) => !scheduled.some((formation) => formation.type === type));
  return missing === undefined ? undefined : `v${live.version} has ${missing} processes, but none is scheduled`;
}
