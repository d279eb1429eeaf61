import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { DashboardSessionStore } from '../../domain/ports.js';
import { ForbiddenError, PilotError, UnauthorizedError } from '../../domain/errors.js';
import type { ApiDeps } from '../api/context.js';
import type { HealthChecks } from '../routes/health.js';
import { authorize, declaredAccess } from '../auth.js';
import { onFirstUse } from '../../lazy.js';
import { DashboardSessions, SESSION_COOKIE, type SignedIn } from './session.js';
import type { DashboardViews } from './views.js';
import { pageRoutes } from './routes.js';
import { actionRoutes } from './actions.js';
import { liveRoutes } from './live.js';

export interface DashboardDeps {
  readonly api: ApiDeps;
  readonly store: DashboardSessionStore;
  readonly checks: HealthChecks;
  /** Pilot's, Node's and Caddy's versions, for the server page. */
  readonly versions: () => Promise<readonly { name: string; version: string }[]>;
  /** dashboard/ of the project: templates/ and assets/. */
  readonly dir: string;
}

/** What the dashboard's routes share: the services, the sessions and the page renderer. */
export interface DashboardContext {
  readonly deps: DashboardDeps;
  readonly sessions: DashboardSessions;
  views(): Promise<DashboardViews>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A dashboard route open without a session (sign-in, assets). */
    signedOut?: boolean;
  }
  interface FastifyRequest {
    /** The dashboard session of the request, set before its route runs. */
    signedIn: SignedIn | null;
  }
}

/** Only Pilot's own origin: no inline script or style, no framing, forms post to Pilot only. */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
};

/** The cookie's name: `__Host-` over HTTPS, which no app under the same domain can set or shadow. */
export function cookieName(request: FastifyRequest, name: string): string {
  return request.protocol === 'https' ? `__Host-${name}` : name;
}

export function cookieOptions(request: FastifyRequest, expires?: Date) {
  return { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', ...(expires ? { expires } : {}) } as const;
}

/** Whether a request with a body may reach the dashboard without a token: the sign-in form, or a signed-in session. */
export function dashboardAdmitsBody(sessions: DashboardSessions, request: FastifyRequest): boolean {
  const url = request.url.split('?')[0];
  if (request.method === 'POST' && url === '/sign-in') return true;
  const cookies = request.cookies ?? {};
  return sessions.find(cookies[`__Host-${SESSION_COOKIE}`] ?? cookies[SESSION_COOKIE]) !== undefined;
}

/**
 * The dashboard at `/`: pages rendered on the server from the same services as the API,
 * behind a session cookie, with CSRF tokens on every form and a strict CSP.
 */
export const dashboardRoutes: FastifyPluginAsync<{ deps: DashboardDeps; sessions: DashboardSessions }> = async (app, { deps, sessions }) => {
  let views: Promise<DashboardViews> | undefined;
  const context: DashboardContext = {
    deps,
    sessions,
    // The templates and ansi_up load on the first page, not when Pilot starts.
    views: () => (views ??= import('./views.js').then((module) => module.loadDashboardViews(path.join(deps.dir, 'templates')))),
  };
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/assets/')) void declaredAccess(route);
    else route.config = { ...(route.config as object), signedOut: true } as never;
  });
  await app.register(formbody, { bodyLimit: 256 * 1024 });
  await app.register(helmet, { contentSecurityPolicy: CONTENT_SECURITY_POLICY, crossOriginEmbedderPolicy: false, hsts: false });
  await app.register(async (assets) => {
    assets.get('/*', async (request, reply) => serveAsset(path.join(deps.dir, 'assets'), request, reply));
  }, { prefix: '/assets' });
  app.decorateRequest('signedIn', null);
  app.addHook('preParsing', async (request, reply) => {
    if (request.routeOptions.config.signedOut) return;
    const signedIn = sessions.find(request.cookies[cookieName(request, SESSION_COOKIE)]);
    if (!signedIn) {
      if (['GET', 'HEAD'].includes(request.method) && !request.ws) return reply.redirect('/sign-in', 303);
      throw new UnauthorizedError('sign in to the dashboard first (your session expired, or its token was revoked)');
    }
    request.signedIn = signedIn;
    if (request.ws) refuseOtherOrigins(request);
    authorize(signedIn.principal, declaredAccess(request.routeOptions), (request.params as { app?: string }).app, (name) => deps.api.apps.findId(name));
  });
  // Every form carries the session's CSRF token (SameSite=Strict is the second lock).
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.config.signedOut || ['GET', 'HEAD'].includes(request.method)) return;
    const sent = (request.body as { _csrf?: unknown } | undefined)?._csrf ?? request.headers['x-csrf-token'];
    if (!request.signedIn || !sessions.csrfValid(request.signedIn.session.csrfSecret, sent)) {
      throw new ForbiddenError('this form is out of date or did not come from the dashboard (its CSRF token is missing or wrong): reload the page and try again');
    }
  });
  app.setErrorHandler(async (error: Error, request, reply) => showError(context, error, request, reply));
  await app.register(pageRoutes, { context });
  await app.register(actionRoutes, { context });
  await app.register(liveRoutes, { context });
};

// @fastify/send (what @fastify/static serves files with, without its globbing and directory
// listing) loads at the first asset asked for, not when Pilot starts: bench/RESULTS.md, dashboard.
const send = onFirstUse(async () => (await import('@fastify/send')).default);

/** A file of dashboard/assets/ (ETag, Last-Modified, 304, ranges, cached for an hour); nothing outside it, no dotfile, no directory. */
async function serveAsset(root: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const file = (request.params as { '*': string })['*'];
  const { type, statusCode, headers, stream } = await (await send())(request.raw, encodeURI(`/${file}`), { root, maxAge: '1h', index: false, dotfiles: 'ignore' });
  if (type !== 'file') {
    reply.callNotFound();
    return reply;
  }
  return reply.code(statusCode).headers(headers).send(stream);
}

/** A WebSocket from a page of another origin is refused, whatever cookies it carries. */
function refuseOtherOrigins(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = URL.canParse(origin) ? new URL(origin).host : '';
  if (host !== request.headers.host) throw new ForbiddenError(`a WebSocket from ${origin} may not use the dashboard`);
}

/** An error as a page a person reads: a refused form goes back to its page with the message. */
async function showError(context: DashboardContext, error: Error, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const status = error instanceof PilotError ? error.statusCode : ((error as { statusCode?: number }).statusCode ?? 500);
  if (status >= 500) request.log.error({ err: error }, 'dashboard request failed');
  const message = status >= 500 && !(error instanceof PilotError) ? 'internal error: the server log has the details' : error.message;
  if (status === 401 && ['GET', 'HEAD'].includes(request.method)) return reply.redirect('/sign-in', 303);
  const views = await context.views();
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .send(views.render('confirm', { title: status === 403 ? 'Not allowed' : 'Something went wrong', error: message, back: request.headers.referer ? backPath(request.headers.referer) : '/' }));
}

/** The path of a same-origin page to go back to (never another site). */
export function backPath(referer: string): string {
  if (!URL.canParse(referer)) return '/';
  const url = new URL(referer);
  return url.pathname.startsWith('/') && !url.pathname.startsWith('//') ? url.pathname : '/';
}
