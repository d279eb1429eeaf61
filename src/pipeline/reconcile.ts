import type { Logger } from 'pino';
import type { AppStore, ContainerEngine, ReleaseStore } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import { RELEASE_LABEL, instanceLabels, isOneOff } from './start.js';

export interface ReconcileDeps {
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly engine: ContainerEngine;
  readonly instance: string;
  readonly logger: Logger;
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
 * removes the containers of this instance that belong to no live release (a deploy cut
 * short, a one-off command or cron run, a retirement that never finished, a destroyed app). Live
 * containers are left alone: apps never depend on the Pilot process. Returns their names.
 */
export async function removeOrphanContainers(
  deps: ReconcileDeps,
  /** For the release that served until the last switch: retired after its drain, as usual. */
  retire: (app: App, release: Release) => void,
): Promise<string[]> {
  const apps = new Map(deps.apps.list().map((app) => [app.name, app]));
  const names = new Map([...apps.values()].map((app) => [app.id, app.name]));
  const liveVersion = new Map<string, string>();
  for (const release of deps.releases.allLive()) {
    const name = names.get(release.appId);
    if (name) liveVersion.set(name, String(release.version));
  }
  const removedContainers: string[] = [];
  const retiring = new Set<string>();
  for (const container of await deps.engine.listContainers(instanceLabels(deps.instance))) {
    const app = container.labels['pilot.app'];
    // Not an app container (none of Pilot's own making): not ours to judge.
    if (app === undefined) continue;
    const oneOff = isOneOff(container.labels);
    if (!oneOff && liveVersion.get(app) === container.labels[RELEASE_LABEL]) continue;
    // A release that served before the last switch may still finish requests: it drains first.
    const owner = apps.get(app);
    const release = owner && !oneOff ? deps.releases.byVersion(owner.id, Number(container.labels[RELEASE_LABEL])) : undefined;
    if (owner && release?.status === 'retired') {
      if (!retiring.has(`${app} ${release.version}`)) retire(owner, release);
      retiring.add(`${app} ${release.version}`);
      continue;
    }
    await deps.engine.removeContainer(container.id);
    removedContainers.push(container.name);
  }
  if (removedContainers.length > 0) deps.logger.warn({ removedContainers }, 'removed containers that belonged to no live release');
  return removedContainers;
}
