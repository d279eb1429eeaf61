import type { FastifyRequest } from 'fastify';
import type { TokenStore } from '../domain/ports.js';
import { ForbiddenError, UnauthorizedError } from '../domain/errors.js';
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
  const found = tokens.findByHash(hashToken(token));
  if (!found) throw new UnauthorizedError('the token is not valid (wrong, revoked or mistyped)');
  tokens.touch(found.id);
  return { tokenId: found.id, scope: found.scope, appId: found.appId };
}

export function requireAppAccess(principal: Principal, appId: number | undefined, appName: string): void {
  if (principal.scope === 'admin') return;
  if (appId === undefined || principal.appId !== appId) {
    throw new ForbiddenError(`this token may not access the app "${appName}"`);
  }
}
