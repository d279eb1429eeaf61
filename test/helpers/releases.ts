import type { ReleaseStore } from '../../src/domain/ports.js';
import type { ReleaseAuthor } from '../../src/domain/types.js';

/** Takes a new release the way a rollout does (starting → checking → live): the store refuses shortcuts. */
export function goLive(releases: ReleaseStore, id: number): void {
  releases.transition(id, 'starting');
  releases.transition(id, 'checking');
  releases.promote(id);
}

/** Who makes the releases of tests that are not about it (no token row is needed for it). */
export const SOMEONE: ReleaseAuthor = { kind: 'pilot', label: 'a test' };
