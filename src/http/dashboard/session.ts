import { randomBytes } from 'node:crypto';
import CsrfTokens from '@fastify/csrf';
import type { DashboardSession, DashboardSessionStore, TokenStore } from '../../domain/ports.js';
import { hashToken } from '../../domain/tokens.js';
import { authenticate, presentsValidToken, type Principal } from '../auth.js';

/** The cookie that names a signed-in session (its id; the database keeps only the id's hash). */
export const SESSION_COOKIE = 'pilot_session';
/** Holds the secret of the sign-in form's CSRF token, before there is a session. */
export const SIGN_IN_COOKIE = 'pilot_sign_in';
/** A session lasts this long from its sign-in, whatever happens: then the token is asked again. */
export const SESSION_HOURS = 12;

export interface SignedIn {
  readonly id: string;
  readonly session: DashboardSession;
  readonly principal: Principal;
}

/**
 * Dashboard sessions: a token exchanged once, at sign-in, for a random session id kept in an
 * HttpOnly cookie. Each session is read with its token at every request, so a revoked token's
 * sessions end at once; each carries the secret its forms' CSRF tokens are made from.
 */
export class DashboardSessions {
  private readonly csrf = CsrfTokens();

  constructor(
    private readonly store: DashboardSessionStore,
    private readonly tokens: TokenStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new session for a valid token; throws UnauthorizedError (as the API does) for any other. */
  signIn(token: string): SignedIn {
    const principal = authenticate(this.tokens, token.trim());
    const now = this.now();
    this.store.removeStale(now.toISOString());
    const id = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3600_000).toISOString();
    const csrfSecret = this.csrf.secretSync();
    this.store.create({ idHash: hashToken(id), tokenId: principal.tokenId, csrfSecret, expiresAt });
    return { id, principal, session: { tokenId: principal.tokenId, name: principal.name, scope: principal.scope, appId: principal.appId, csrfSecret, expiresAt } };
  }

  /** Whether a token would sign in (for the limit on failed sign-ins, which counts only the others). */
  tokenIsValid(token: string): boolean {
    return presentsValidToken(this.tokens, token.trim());
  }

  /** The session a cookie names, unless it expired, was signed out or its token was revoked. */
  find(id: string | undefined): SignedIn | undefined {
    if (!id) return undefined;
    const session = this.store.find(hashToken(id), this.now().toISOString());
    if (!session) return undefined;
    return { id, session, principal: { tokenId: session.tokenId, name: session.name, scope: session.scope, appId: session.appId } };
  }

  signOut(id: string): void {
    this.store.remove(hashToken(id));
  }

  /** A secret for a form that has no session yet (sign-in). */
  newSecret(): string {
    return this.csrf.secretSync();
  }

  csrfToken(secret: string): string {
    return this.csrf.create(secret);
  }

  csrfValid(secret: string, token: unknown): boolean {
    return typeof token === 'string' && this.csrf.verify(secret, token);
  }
}
