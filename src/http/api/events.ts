import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import Type from 'typebox';
import { AppParams, EventStreamQuery, EventView, EventsQuery } from '../../domain/shapes.js';
import type { PilotEvent } from '../../domain/types.js';
import type { EventScope } from '../../services/events.js';
import { appAccess, appFor, closeOnRevocation, errorResponses, type ApiDeps } from './context.js';

const EventList = Type.Array(EventView);

/** The timelines: the server's with every app's (admin), one app's (its deploy tokens too), listed or followed. */
export const eventRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/events',
    { schema: { summary: "Every event: the server's and every app's, oldest first", querystring: EventsQuery, response: { 200: EventList, ...errorResponses } } },
    async (request) => deps.events.list('all', { afterId: request.query.after, limit: request.query.limit }).map(eventView),
  );

  api.get(
    '/apps/:app/events',
    {
      config: appAccess,
      schema: { summary: "The app's events (deploys, config changes, scale, crashes, health), oldest first", params: AppParams, querystring: EventsQuery, response: { 200: EventList, ...errorResponses } },
    },
    async (request) => deps.events.list({ appId: appFor(deps, request).id }, { afterId: request.query.after, limit: request.query.limit }).map(eventView),
  );

  api.get(
    '/events/stream',
    {
      websocket: true,
      schema: { summary: 'Follow every event over a WebSocket, one JSON event per message; ?after=<id> first sends the stored ones after it', querystring: EventStreamQuery },
    },
    (socket, request) => streamEvents(deps, request, socket, 'all', request.query.after),
  );

  api.get(
    '/apps/:app/events/stream',
    {
      config: appAccess,
      websocket: true,
      schema: { summary: "Follow the app's events over a WebSocket; ?after=<id> first sends the stored ones after it", params: AppParams, querystring: EventStreamQuery },
      preValidation: async (request) => void appFor(deps, request),
    },
    (socket, request) => streamEvents(deps, request, socket, { appId: appFor(deps, request).id }, request.query.after),
  );
};

/** Sends the stored events after `after` (when given), then each new one; none twice, none lost between the two. */
function streamEvents(deps: ApiDeps, request: FastifyRequest, socket: WebSocket, scope: EventScope, after: number): void {
  closeOnRevocation(deps, request, socket);
  const unfollow = deps.events.followAfter(scope, after, (event) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(eventView(event)));
  });
  socket.on('close', unfollow);
}

function eventView(event: PilotEvent): EventView {
  return { id: event.id, app: event.app, kind: event.kind, message: event.message, release: event.release, process: event.process, createdAt: event.createdAt };
}
