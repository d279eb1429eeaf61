import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { UnauthorizedError } from '../../domain/errors.js';
import { findRelease } from '../api/releases.js';
import { appAccess } from '../api/context.js';
import { DashboardSessions, SESSION_COOKIE, SIGN_IN_COOKIE } from './session.js';
import { cookieName, cookieOptions, type DashboardContext } from './index.js';
import { appPage, releaseRow, serverPage, visibleApps } from './pages.js';
import { renderPage } from './render.js';

/** Failed sign-ins allowed per client address and minute, as failed authentications on the API. */
const FAILED_SIGN_INS_PER_MINUTE = 10;

const open = { signedOut: true, access: 'any-token' } as const;
const anyToken = { access: 'any-token' } as const;

/** Sign-in and sign-out, and the pages: apps, one app, one release, the server. */
export const pageRoutes: FastifyPluginAsync<{ context: DashboardContext }> = async (app, { context }) => {
  const { deps, sessions } = context;
  // A limiter of its own: the one of app.ts already ran on every request (before the body), and runs once per request.
  await app.register(rateLimit, { global: false });

  const signInForm = (request: FastifyRequest, reply: Parameters<typeof renderPage>[2], error?: string, status = 200) => {
    const name = cookieName(request, SIGN_IN_COOKIE);
    let secret = request.cookies[name];
    if (!secret) {
      secret = sessions.newSecret();
      reply.setCookie(name, secret, { ...cookieOptions(request), maxAge: 3600 });
    }
    return renderPage(context, request, reply, 'sign-in', { title: 'Sign in', signInCsrf: sessions.csrfToken(secret), error }, status);
  };

  app.get('/sign-in', { config: open }, async (request, reply) => signInForm(request, reply));

  app.post<{ Body: { token?: string; _csrf?: string } }>(
    '/sign-in',
    {
      // Read without a token or a session: a token fits in far less.
      bodyLimit: 4096,
      config: {
        ...open,
        rateLimit: {
        // After the body is read: only a sign-in whose token is not valid counts toward the limit.
        hook: 'preHandler',
        max: FAILED_SIGN_INS_PER_MINUTE,
        timeWindow: '1 minute',
        keyGenerator: (request) => `sign-in ${request.ip}`,
        allowList: (request) => validSignIn(sessions, request),
        errorResponseBuilder: (request, limit) => ({
          statusCode: 429,
          code: 'PILOT_TOO_MANY_FAILED_AUTHENTICATIONS',
          message: `too many failed sign-ins from ${request.ip}: check your token and try again in ${limit.after}`,
        }),
        },
      },
    },
    async (request, reply) => {
      const secret = request.cookies[cookieName(request, SIGN_IN_COOKIE)];
      if (!secret || !sessions.csrfValid(secret, request.body?._csrf)) {
        return signInForm(request, reply, 'the sign-in form was out of date: sign in again', 403);
      }
      let signedIn;
      try {
        signedIn = sessions.signIn(String(request.body?.token ?? ''));
      } catch (error) {
        if (error instanceof UnauthorizedError) return signInForm(request, reply, 'that token is not valid (wrong, revoked or mistyped)', 401);
        throw error;
      }
      reply.clearCookie(cookieName(request, SIGN_IN_COOKIE), cookieOptions(request));
      reply.setCookie(cookieName(request, SESSION_COOKIE), signedIn.id, cookieOptions(request, new Date(signedIn.session.expiresAt)));
      const ownApp = signedIn.principal.appId === null ? undefined : deps.api.apps.nameOf(signedIn.principal.appId);
      return reply.redirect(ownApp ? `/apps/${encodeURIComponent(ownApp)}` : '/', 303);
    },
  );

  app.post('/sign-out', { config: anyToken }, async (request, reply) => {
    if (request.signedIn) sessions.signOut(request.signedIn.id);
    reply.clearCookie(cookieName(request, SESSION_COOKIE), cookieOptions(request));
    return reply.redirect('/sign-in', 303);
  });

  app.get('/', { config: anyToken }, async (request, reply) => {
    const principal = request.signedIn!.principal;
    if (principal.scope === 'app' && principal.appId !== null) return reply.redirect(`/apps/${encodeURIComponent(deps.api.apps.nameOf(principal.appId) ?? '')}`, 303);
    // Read before the page's contents: an event recorded while they are gathered is sent to its socket.
    const eventsAfter = deps.api.events.newestId('all');
    return renderPage(context, request, reply, 'apps', { title: 'Apps', apps: visibleApps(deps.api, principal), eventsAfter });
  });

  app.get<{ Params: { app: string }; Querystring: { reveal?: string } }>('/apps/:app', { config: appAccess }, async (request, reply) => {
    const found = deps.api.apps.get(request.params.app);
    // Read before the page's contents: an event recorded while they are gathered is sent to its socket.
    const eventsAfter = deps.api.events.newestId({ appId: found.id });
    const model = await appPage(deps.api, found, request.signedIn!.principal, { reveal: request.query.reveal === 'config' });
    return renderPage(context, request, reply, 'app', { title: found.name, ...model, eventsAfter });
  });

  app.get<{ Params: { app: string; version: string } }>('/apps/:app/releases/:version', { config: appAccess }, async (request, reply) => {
    const found = deps.api.apps.get(request.params.app);
    const release = findRelease(deps.api, found, request.params.version);
    return renderPage(context, request, reply, 'release', { title: `${found.name} v${release.version}`, appName: found.name, release: releaseRow(release), log: deps.api.releases.log(release.id) });
  });

  app.get('/server', async (request, reply) =>
    renderPage(context, request, reply, 'server', { title: 'Server', ...(await serverPage(deps.api, deps.checks, deps.versions)) }),
  );
};

function validSignIn(sessions: DashboardSessions, request: FastifyRequest): boolean {
  const token = (request.body as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && sessions.tokenIsValid(token);
}
