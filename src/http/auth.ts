import type { FastifyRequest } from 'fastify';
import type { TokenStore } from '../domain/ports.js';
import { ForbiddenError, UnauthorizedError } from '../domain/errors.js';
import { timingSafeEqual } from 'node:crypto';
import { hashToken } from '../domain/tokens.js';

export interface Principal {
  readonly tokenId: number;
  readonly scope: 'admin' | 'app';
  readonly appId: number | null;
}

/** The token of a request: `Authorization: Bearer T` (API) or the Basic password (git). */
export function tokenFromRequest(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

export function authenticate(tokens: TokenStore, token: string | undefined): Principal {
  if (!token) throw new UnauthorizedError('authentication required: send a Pilot token');
  const found = findToken(tokens, token);
  if (!found) throw new UnauthorizedError('the token is not valid (wrong, revoked or mistyped)');
  tokens.touch(found.id);
  return { tokenId: found.id, scope: found.scope, appId: found.appId };
}

/**
 * Looks a token up by its hash, then compares the hashes in constant time, so no answer's
 * timing depends on how much of a guess was right.
 */
function findToken(tokens: TokenStore, token: string): ReturnType<TokenStore['findByHash']> {
  const hash = hashToken(token);
  const found = tokens.findByHash(hash);
  if (!found) return undefined;
  return timingSafeEqual(Buffer.from(found.hash, 'hex'), Buffer.from(hash, 'hex')) ? found : undefined;
}

/**
 * Whether a request carries a token that is not valid: only those count toward the limit of
 * failed authentications per client address (a request with no token, as git's first, does not).
 */
export function presentsInvalidToken(tokens: TokenStore, request: FastifyRequest): boolean {
  const token = tokenFromRequest(request);
  return token !== undefined && findToken(tokens, token) === undefined;
}

export function requireAppAccess(principal: Principal, appId: number | undefined, appName: string): void {
  if (principal.scope === 'admin') return;
  if (appId === undefined || principal.appId !== appId) {
    throw new ForbiddenError(`this token may not access the app "${appName}"`);
  }
}
