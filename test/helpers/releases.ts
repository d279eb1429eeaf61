import type { ReleaseStore } from '../../src/domain/ports.js';

/** Takes a new release the way a rollout does (starting → checking → live): the store refuses shortcuts. */
export function goLive(releases: ReleaseStore, id: number): void {
  releases.transition(id, 'starting');
  releases.transition(id, 'checking');
  releases.promote(id);
}
