import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { TokenStore } from '../domain/ports.js';
import { ForbiddenError, UnauthorizedError } from '../domain/errors.js';
import { timingSafeEqual } from 'node:crypto';
import { hashToken } from '../domain/tokens.js';

export interface Principal {
  readonly tokenId: number;
  /** The token's name (what a release it makes is labelled with). */
  readonly name: string;
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
  return { tokenId: found.id, name: found.name, scope: found.scope, appId: found.appId };
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

/** Whether a token is valid, without touching its last use. */
export function presentsValidToken(tokens: TokenStore, token: string): boolean {
  return token !== '' && findToken(tokens, token) !== undefined;
}

export function requireAppAccess(principal: Principal, appId: number | undefined, appName: string): void {
  if (principal.scope === 'admin') return;
  if (appId === undefined || principal.appId !== appId) {
    throw new ForbiddenError(`this token may not access the app "${appName}"`);
  }
}

/**
 * Who may call an API route, declared in its `config.access`; a route that declares nothing
 * is `admin`. `app`: admin tokens, and the deploy token of the app in the route's `:app`.
 * `any-token`: every valid token (what a token may do is about the token itself).
 */
export const ROUTE_ACCESS = ['admin', 'app', 'any-token'] as const;
export type RouteAccess = (typeof ROUTE_ACCESS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** Set by tokenAuthorization before any route of its context runs. */
    principal: Principal | null;
  }
}

/** A route's declared access; refuses, when the route is registered, one that cannot be enforced. */
export function declaredAccess(route: { readonly url?: string; readonly config?: unknown }): RouteAccess {
  const access = (route.config as { access?: unknown } | undefined)?.access ?? 'admin';
  if (!ROUTE_ACCESS.includes(access as RouteAccess)) {
    throw new Error(`route ${route.url} declares access ${JSON.stringify(access)}; use one of ${ROUTE_ACCESS.join(', ')}`);
  }
  if (access === 'app' && !/(^|\/):app(\/|$)/.test(route.url ?? '')) {
    throw new Error(`route ${route.url} declares app access but has no :app parameter to check a deploy token against`);
  }
  return access as RouteAccess;
}

/** Throws unless the principal may call a route with this access, for the app named in the URL. */
export function authorize(
  principal: Principal,
  access: RouteAccess,
  appName: string | undefined,
  appId: (name: string) => number | undefined,
  parentId: (name: string) => number | undefined = () => undefined,
): void {
  if (principal.scope === 'admin' || access === 'any-token') return;
  if (access === 'admin') throw new ForbiddenError('this needs an admin token; a deploy token may only push and read its app');
  // 403 before 404: a deploy token learns nothing of other apps, not even whether they exist.
  const name = appName ?? '';
  // A preview is deployed from its parent's repository: the parent's deploy token acts on it as on its own app.
  const parent = parentId(name);
  if (parent !== undefined && principal.appId === parent) return;
  requireAppAccess(principal, appId(name), name);
}

export interface TokenAuthorizationOptions {
  readonly tokens: TokenStore;
  /** The id of the app with this name, if there is one. */
  readonly appId: (name: string) => number | undefined;
  /** The id of the app a preview app of this name previews, if it is one: that app's deploy token may act on it too. */
  readonly parentId?: (name: string) => number | undefined;
}

/**
 * Default deny for the routes of the context that registers it: each route's access is checked
 * when it is registered and enforced on every request, an undeclared route being admin-only.
 */
export const tokenAuthorization = fastifyPlugin(async (api: FastifyInstance, options: TokenAuthorizationOptions) => {
  api.decorateRequest('principal', null);
  api.addHook('onRoute', (route) => void declaredAccess(route));
  // preParsing: after the limit on failed authentications (app.ts, onRequest) saw the request,
  // before its body is read.
  api.addHook('preParsing', async (request) => {
    const principal = authenticate(options.tokens, tokenFromRequest(request));
    request.principal = principal;
    authorize(principal, declaredAccess(request.routeOptions), (request.params as { app?: string }).app, options.appId, options.parentId);
  });
});
