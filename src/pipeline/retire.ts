import type { Release } from '../domain/types.js';

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

/**
 * The tags of the images `imagesToPrune` keeps (`pilot/shop:v3` → `v3`): what the swarm registry
 * keeps of the app's repository when it collects.
 */
export function imageTagsToKeep(releases: readonly Release[], keep: number): string[] {
  const pruned = new Set(imagesToPrune(releases, keep));
  const kept = new Set<string>();
  for (const release of releases) {
    if (release.image && !pruned.has(release.image)) kept.add(release.image.slice(release.image.lastIndexOf(':') + 1));
  }
  return [...kept];
}
