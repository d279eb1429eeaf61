import type {} from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import type { TimestampedLine } from '../../domain/ports.js';
import type { ProcessAction } from '../../services/processes.js';
import { appFor, appParams, errorResponses, requireAdmin, type ApiDeps } from './context.js';

type AppRoute = { Params: { app: string } };

const processList = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      type: { type: 'string' },
      release: { type: 'integer' },
      container: { type: 'string' },
      state: { type: 'string' },
      startedAt: { type: ['string', 'null'] },
      uptimeSeconds: { type: ['integer', 'null'] },
      restarts: { type: 'integer' },
    },
  },
} as const;

const logLine = {
  type: 'object',
  properties: { time: { type: 'string' }, stream: { type: 'string', enum: ['stdout', 'stderr'] }, text: { type: 'string' } },
  required: ['time', 'stream', 'text'],
} as const;

/** Process status and control, logs (last lines, and followed over a WebSocket). */
export const runtimeRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get<AppRoute>(
    '/apps/:app/ps',
    { schema: { summary: "The app's containers as Docker reports them", params: appParams, response: { 200: processList, ...errorResponses } } },
    async (request) => deps.processes.list(appFor(deps, request)),
  );

  api.post<{ Params: { app: string; action: ProcessAction } }>(
    '/apps/:app/ps/:action',
    {
      schema: {
        summary: "Restart, stop or start the app's containers",
        params: {
          type: 'object',
          properties: { app: { type: 'string' }, action: { type: 'string', enum: ['restart', 'stop', 'start'] } },
          required: ['app', 'action'],
        },
        response: { 200: processList, ...errorResponses },
      },
    },
    async (request) => {
      requireAdmin(request);
      return deps.processes.act(appFor(deps, request), request.params.action);
    },
  );

  api.get<AppRoute & { Querystring: { lines: number } }>(
    '/apps/:app/logs',
    {
      schema: {
        summary: 'The last lines of the app log',
        params: appParams,
        querystring: { type: 'object', properties: { lines: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } } },
        response: { 200: { type: 'object', properties: { lines: { type: 'array', items: logLine } } }, ...errorResponses },
      },
    },
    async (request) => ({ lines: await deps.logs.tail(appFor(deps, request), request.query.lines) }),
  );

  api.get<AppRoute & { Querystring: { lines: number; after?: string } }>(
    '/apps/:app/logs/stream',
    {
      websocket: true,
      schema: {
        summary: 'Follow the app log over a WebSocket: one JSON line per message; reconnect with ?after=<time of the last line> to resume',
        params: appParams,
        querystring: {
          type: 'object',
          properties: {
            lines: { type: 'integer', minimum: 0, maximum: 10000, default: 20 },
            after: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$' },
          },
        },
      },
    },
    (socket, request) => {
      const app = appFor(deps, request);
      const send = (line: TimestampedLine): void => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(line));
      };
      const follower = deps.logs.follow(app, { after: request.query.after, tail: request.query.lines }, send);
      socket.on('close', () => follower.stop());
      void follower.done.catch((error: unknown) => {
        request.log.error({ err: error }, 'log follower failed');
        socket.close(1011, 'log stream failed');
      });
    },
  );
};
