import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DashboardContext } from './index.js';
import { cookieOptions } from './index.js';

const FLASH_COOKIE = 'pilot_flash';

export interface Flash {
  readonly kind: 'notice' | 'error';
  readonly text: string;
}

/** A message shown once on the next page (after a form's redirect). */
export function setFlash(request: FastifyRequest, reply: FastifyReply, flash: Flash): void {
  reply.setCookie(FLASH_COOKIE, JSON.stringify(flash), { ...cookieOptions(request), signed: true, maxAge: 60 });
}

function takeFlash(request: FastifyRequest, reply: FastifyReply): Flash | undefined {
  const raw = request.cookies[FLASH_COOKIE];
  if (raw === undefined) return undefined;
  reply.clearCookie(FLASH_COOKIE, cookieOptions(request));
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  try {
    const parsed = JSON.parse(unsigned.value) as Flash;
    return { kind: parsed.kind === 'error' ? 'error' : 'notice', text: String(parsed.text) };
  } catch {
    return undefined;
  }
}

/** Renders a page in the layout, with the session's CSRF token for its forms and the flash message. */
export async function renderPage(context: DashboardContext, request: FastifyRequest, reply: FastifyReply, page: string, model: object, status = 200): Promise<FastifyReply> {
  const views = await context.views();
  const signedIn = request.signedIn;
  const ownApp = signedIn && signedIn.principal.scope === 'app' && signedIn.principal.appId !== null ? context.deps.api.apps.nameOf(signedIn.principal.appId) : undefined;
  const html = views.render(page, {
    ...model,
    csrf: signedIn ? context.sessions.csrfToken(signedIn.session.csrfSecret) : undefined,
    session: signedIn && { admin: signedIn.principal.scope === 'admin', app: ownApp, expiresAt: signedIn.session.expiresAt },
    // The island script's own refreshes leave the message to the page a form's redirect opens.
    flash: request.headers['x-pilot-refresh'] === undefined ? takeFlash(request, reply) : undefined,
  });
  return reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}
