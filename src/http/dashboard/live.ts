import type {} from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { App, PilotEvent } from '../../domain/types.js';
import { appAccess } from '../api/context.js';
import type { DashboardContext } from './index.js';

/** How often an app's page hears how its builds in progress grew (their logs are in the database as they are written). */
const BUILD_LOG_POLL_MS = 300;
/** Log lines a page shows when it opens its runtime log. */
const RUNTIME_LOG_LINES = 200;

/**
 * The live parts of the app page over WebSockets: the app's events and its builds in
 * progress (each line as the pusher sees it, colours as classes), and its runtime log.
 * Closed when the session's token is revoked.
 */
export const liveRoutes: FastifyPluginAsync<{ context: DashboardContext }> = async (app, { context }) => {
  const { api } = context.deps;

  // ?after=<id of the newest event the page has seen>: what happened between the page's render and this socket is sent first.
  app.get<{ Params: { app: string }; Querystring: { after?: string } }>('/apps/:app/live', { config: appAccess, websocket: true }, async (socket, request) => {
    const found = api.apps.get(request.params.app);
    closeWithSession(context, request, socket);
    const send = (message: object): void => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const unfollow = api.events.followAfter({ appId: found.id }, eventsAfter(request.query.after), (event: PilotEvent) =>
      send({ event: { id: event.id, kind: event.kind, message: event.message, release: event.release } }),
    );
    const stopBuilds = await followBuilds(context, found, send);
    socket.on('close', () => {
      unfollow();
      stopBuilds();
    });
  });

  // The apps page: every app's events (admin only, as the API's /events/stream).
  app.get<{ Querystring: { after?: string } }>('/live', { websocket: true }, (socket, request) => {
    closeWithSession(context, request, socket);
    const unfollow = api.events.followAfter('all', eventsAfter(request.query.after), (event: PilotEvent) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ event: { id: event.id, app: event.app, kind: event.kind } }));
    });
    socket.on('close', unfollow);
  });

  // ?after=<time of the last line seen>: a page that reconnects (Caddy closes proxied WebSockets at each reload) resumes there.
  app.get<{ Params: { app: string }; Querystring: { after?: string } }>('/apps/:app/logs/live', { config: appAccess, websocket: true }, async (socket, request) => {
    const found = api.apps.get(request.params.app);
    closeWithSession(context, request, socket);
    const views = await context.views();
    const after = request.query.after && !Number.isNaN(Date.parse(request.query.after)) ? request.query.after : undefined;
    // Each line also as HTML: escaped, its colours as classes (ansi_up), as the build logs are.
    const follower = api.logs.follow(found, { lines: RUNTIME_LOG_LINES, ...(after ? { after } : {}) }, (line) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ ...line, html: views.ansi(line.text) }));
    });
    socket.on('close', () => follower.stop());
    void follower.done.catch((error: unknown) => {
      request.log.error({ err: error }, 'dashboard log follower failed');
      socket.close(1011, 'log stream failed');
    });
  });
};

/** The event id a page's socket resumes after; 0 (only new events) when absent or not an id. */
function eventsAfter(after: string | undefined): number {
  const id = Number(after);
  return Number.isSafeInteger(id) && id > 0 ? id : 0;
}

function closeWithSession(context: DashboardContext, request: FastifyRequest, socket: WebSocket): void {
  const tokenId = request.signedIn?.principal.tokenId;
  if (tokenId === undefined) return void socket.close(1008, 'signed out');
  const release = context.deps.api.sessions.hold(tokenId, () => socket.close(1008, 'the token was revoked'));
  socket.on('close', release);
}

/**
 * Sends each build in progress of the app as it grows: its whole log first (`reset`), then
 * what was added, and `done` once it finished. Returns the stop.
 */
async function followBuilds(context: DashboardContext, app: App, send: (message: object) => void): Promise<() => void> {
  const views = await context.views();
  const { releases } = context.deps.api;
  const followed = new Map<number, { version: number; length: number; render: (chunk: string) => string }>();
  const poll = (): void => {
    const building = releases.inProgress().filter((release) => release.appId === app.id);
    for (const release of building) {
      let entry = followed.get(release.id);
      const log = releases.log(release.id);
      if (!entry) {
        entry = { version: release.version, length: 0, render: views.ansiStream() };
        followed.set(release.id, entry);
        send({ build: { version: release.version, html: entry.render(log), reset: true } });
      } else if (log.length > entry.length) {
        send({ build: { version: release.version, html: entry.render(log.slice(entry.length)) } });
      }
      entry.length = log.length;
    }
    for (const [id, entry] of followed) {
      if (building.some((release) => release.id === id)) continue;
      const rest = releases.log(id).slice(entry.length);
      send({ build: { version: entry.version, html: entry.render(rest), done: releases.get(id)?.status ?? 'failed' } });
      followed.delete(id);
    }
  };
  poll();
  const timer = setInterval(poll, BUILD_LOG_POLL_MS);
  return () => clearInterval(timer);
}
