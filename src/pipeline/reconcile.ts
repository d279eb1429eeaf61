import type { Logger } from 'pino';
import type { AppProcess, AppRuntime, AppStore, ReleaseStore } from '../domain/ports.js';
import type { App, Slot } from '../domain/types.js';

export interface ReconcileDeps {
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly runtime: Pick<AppRuntime, 'list' | 'listOneOffs' | 'remove'>;
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
 * At start, once the routes were loaded from the database and before any push is accepted:
 * removes the processes of this instance that never served or serve no more (a deploy or
 * scale cut short, one-off commands and cron runs, a destroyed app). Those that served until
 * the last switch (a retired release, or the live release's other slot after a restart) drain
 * first: `retire` is told of them. The serving ones are left alone: apps never depend on the
 * Pilot process. Returns the names of those removed.
 */
export async function removeOrphanContainers(deps: ReconcileDeps, retire: (batch: ToRetire) => void): Promise<string[]> {
  const apps = new Map(deps.apps.list().map((app) => [app.name, app]));
  const orphans: { id: string; name: string }[] = [...(await deps.runtime.listOneOffs())];
  const draining = new Map<string, ToRetire>();
  for (const process of await deps.runtime.list()) {
    const { app: name, release: version, slot } = process.identity;
    const app = apps.get(name);
    const release = app ? deps.releases.byVersion(app.id, version) : undefined;
    if (release?.status === 'live' && slot === release.slot) continue;
    // It served until the last switch (a deploy, or a restart of the live release into the other slot).
    if (app && (release?.status === 'retired' || release?.status === 'live')) {
      const key = `${name} ${version} ${slot}`;
      const batch = draining.get(key) ?? { app, version, slot, processes: [] };
      draining.set(key, { ...batch, processes: [...batch.processes, process] });
      continue;
    }
    orphans.push(process);
  }
  for (const batch of draining.values()) retire(batch);
  await deps.runtime.remove(orphans.map((orphan) => orphan.id));
  const removedContainers = orphans.map((orphan) => orphan.name);
  if (removedContainers.length > 0) deps.logger.warn({ removedContainers }, 'removed containers that belonged to no live release');
  return removedContainers;
}
