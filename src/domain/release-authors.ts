/**
 * Who made a release, for the timeline and `pilot releases`: written once when the release is
 * created (the token's id and a label naming it), read back with what became of the token.
 */
import type { ReleaseAuthor, ReleaseMaker } from './types.js';

/** The token a request authenticated with: `admin token ci`, `deploy token shop-ci`. */
export function tokenAuthor(token: { readonly tokenId: number; readonly scope: 'admin' | 'app'; readonly name: string }): ReleaseAuthor {
  return { kind: 'token', tokenId: token.tokenId, label: `${token.scope === 'admin' ? 'admin' : 'deploy'} token ${token.name}` };
}

/** A repository URL's push webhook: authenticated by the app's secret, not by a token. */
export const WEBHOOK_AUTHOR: ReleaseAuthor = { kind: 'webhook', label: 'push webhook' };

/** Pilot itself, when a release it watched failed after going live. */
export const AUTO_ROLLBACK_AUTHOR: ReleaseAuthor = { kind: 'pilot', label: 'Pilot (automatic rollback)' };

/** A push whose token Pilot cannot tell (the hook run by something other than Pilot's git route). */
export const UNKNOWN_PUSHER: ReleaseAuthor = { kind: 'unknown', label: 'unknown pusher' };

/**
 * As stored, with the state of its token now: `valid`, `revoked`, or `gone` (deleted; its id
 * was cleared with it).
 */
export function releaseMaker(stored: { readonly kind: ReleaseAuthor['kind']; readonly tokenId: number | null; readonly label: string }, token: 'valid' | 'revoked' | 'gone'): ReleaseMaker {
  if (stored.kind !== 'token') return { kind: stored.kind, tokenId: null, label: stored.label };
  if (token === 'gone') return { kind: 'token', tokenId: null, label: `deleted ${stored.label}` };
  return { kind: 'token', tokenId: stored.tokenId, label: token === 'revoked' ? `${stored.label} (revoked)` : stored.label };
}
