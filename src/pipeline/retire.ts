import type { ContainerEngine } from '../domain/ports.js';
import type { Release } from '../domain/types.js';
import { PROCESS_LABEL } from './start.js';

/** Stops a replaced release's containers once requests in flight on them had time to finish. */
export async function retireContainers(
  engine: ContainerEngine,
  labels: Readonly<Record<string, string>>,
  timing: { drainSeconds: number; stopTimeoutSeconds: number },
): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, timing.drainSeconds * 1000));
  // A cron run of the replaced release finishes its work: it ends by itself and is removed then.
  const containers = (await engine.listContainers(labels)).filter((container) => container.labels[PROCESS_LABEL] !== 'cron');
  // Stopped side by side: SIGTERM to all, each gets the whole stop timeout.
  await Promise.all(containers.map((container) => engine.stopContainer(container.id, timing.stopTimeoutSeconds)));
  for (const container of containers) await engine.removeContainer(container.id);
}

/**
 * Images no longer needed: those of failed releases, and of releases older than the newest
 * `keep` that served (the ones a rollback can go back to). The live release's image and those
 * of releases still in progress are always kept.
 */
export function imagesToPrune(releases: readonly Release[], keep: number): string[] {
  const newestFirst = [...releases].sort((a, b) => b.version - a.version);
  const inUse = (release: Release) => release.status !== 'failed' && release.status !== 'retired';
  const served = newestFirst.filter((release) => release.status === 'live' || release.status === 'retired');
  const kept = new Set(
    [...served.slice(0, keep), ...newestFirst.filter(inUse)]
      .map((release) => release.image)
      .filter((image): image is string => image !== null),
  );
  const prune = new Set<string>();
  for (const release of newestFirst) if (release.image && !kept.has(release.image)) prune.add(release.image);
  return [...prune];
}
