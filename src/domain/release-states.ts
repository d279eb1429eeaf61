import type { ReleaseStatus } from './types.js';
import { PilotError } from './errors.js';

/**
 * The only changes of a release's status, from → allowed to: built, started, checked, then
 * live until the next release goes live; any step before live may fail. Failed and retired
 * are final: a rollback is a new release from the retired one's image.
 */
export const RELEASE_TRANSITIONS: Readonly<Record<ReleaseStatus, readonly ReleaseStatus[]>> = {
  building: ['starting', 'failed'],
  starting: ['checking', 'failed'],
  checking: ['live', 'failed'],
  live: ['retired'],
  failed: [],
  retired: [],
};

export function canTransition(from: ReleaseStatus, to: ReleaseStatus): boolean {
  return RELEASE_TRANSITIONS[from].includes(to);
}

/** A status change the table does not allow; nothing was changed. */
export class ReleaseTransitionError extends PilotError {
  readonly code = 'PILOT_RELEASE_TRANSITION_REFUSED';
  readonly statusCode = 409;
  constructor(
    readonly release: string,
    readonly from: ReleaseStatus,
    readonly to: ReleaseStatus,
  ) {
    const allowed = RELEASE_TRANSITIONS[from];
    super(`${release} cannot go from ${from} to ${to}: a ${from} release may only become ${allowed.length > 0 ? allowed.join(' or ') : 'nothing else (it is final)'}`);
  }
}

/** Throws unless `release` (named as `app vN`) may go from `from` to `to`. */
export function assertTransition(release: string, from: ReleaseStatus, to: ReleaseStatus): void {
  if (!canTransition(from, to)) throw new ReleaseTransitionError(release, from, to);
}
