import type {} from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import type { AttachedProcess, TimestampedLine } from '../../domain/ports.js';
import type { ProcessAction } from '../../services/processes.js';
import { appAccess, appFor, appParams, errorResponses, type ApiDeps } from './context.js';

type AppRoute = { Params: { app: string } };

/**
 * What a `pilot run` client sends: the command first (with `tty`, or `pipedStdin` when it will
 * send its stdin without a terminal), then, once told `started`, stdin, window sizes and the end of input.
 */
interface RunMessage {
  readonly command?: string[];
  readonly tty?: boolean;
  readonly pipedStdin?: boolean;
  readonly columns?: number;
  readonly rows?: number;
  readonly stdin?: string;
  readonly resize?: { readonly columns: number; readonly rows: number };
  readonly eof?: boolean;
}

const processList = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      type: { type: 'string' },
      // null, with container: a process type scaled to 0 (state "scaled to 0").
      index: { type: ['integer', 'null'] },
      release: { type: 'integer' },
      container: { type: ['string', 'null'] },
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
    { config: appAccess, schema: { summary: "The app's containers as Docker reports them, and its process types scaled to 0", params: appParams, response: { 200: processList, ...errorResponses } } },
    async (request) => deps.processes.list(appFor(deps, request)),
  );

  api.post<{ Params: { app: string; action: ProcessAction }; Body: { type?: string } | null }>(
    '/apps/:app/ps/:action',
    {
      schema: {
        summary: "Restart, stop or start the app's containers; {\"type\": \"worker\"}: only those of one process type",
        params: {
          type: 'object',
          properties: { app: { type: 'string' }, action: { type: 'string', enum: ['restart', 'stop', 'start'] } },
          required: ['app', 'action'],
        },
        body: { type: 'object', nullable: true, properties: { type: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$' } }, additionalProperties: false },
        response: { 200: processList, ...errorResponses },
      },
    },
    async (request) => {
      const type = request.body?.type;
      return deps.processes.act(appFor(deps, request), request.params.action, type === undefined ? undefined : [type]);
    },
  );

  api.post<AppRoute & { Body: Record<string, number> }>(
    '/apps/:app/ps/scale',
    {
      schema: {
        summary: 'Scale process types, e.g. {"web": 3, "worker": 2}; no rebuild, no dropped request, kept across deploys',
        params: appParams,
        body: { type: 'object', additionalProperties: { type: 'integer', minimum: 0, maximum: 20 }, minProperties: 1, maxProperties: 20 },
        response: { 200: processList, ...errorResponses },
      },
    },
    async (request) => {
      return deps.processes.scale(appFor(deps, request), request.body);
    },
  );

  api.get<AppRoute>(
    '/apps/:app/run',
    {
      websocket: true,
      schema: { summary: 'Run a one-off command (WebSocket); see the OpenAPI description', params: appParams },
      // A missing app is refused before the upgrade, as a JSON error with its status.
      preValidation: async (request) => void appFor(deps, request),
    },
    (socket, request) => {
      const app = appFor(deps, request);
      let process: AttachedProcess | undefined;
      let finished = false;
      const send = (message: object): void => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
      };
      const fail = (error: unknown): void => {
        send({ error: error instanceof Error ? error.message : String(error) });
        socket.close(1011, 'run failed');
      };
      socket.on('message', (data) => {
        let message: RunMessage;
        try {
          message = JSON.parse(data.toString()) as RunMessage;
        } catch {
          fail(new Error('messages are JSON'));
          return;
        }
        if (!process && message.command) {
          const interactive = message.tty === true;
          const input = interactive ? 'tty' : message.pipedStdin === true ? 'pipe' : 'none';
          void deps.oneOff
            .start(app, message.command, input, (stream, chunk) => send({ stream, data: chunk.toString('base64') }))
            .then(async (started) => {
              process = started;
              if (interactive && message.columns && message.rows) await started.resize(message.columns, message.rows);
              // Input sent before this would have nowhere to go.
              send({ started: true });
              const exit = await started.exitCode;
              finished = true;
              send({ exit });
              socket.close(1000);
            })
            .catch(fail);
          return;
        }
        if (message.stdin !== undefined) process?.stdin?.write(Buffer.from(message.stdin, 'base64'));
        if (message.resize) void process?.resize(message.resize.columns, message.resize.rows);
        if (message.eof) process?.stdin?.end();
      });
      // The client went away: the command does not outlive it.
      socket.on('close', () => {
        if (!finished) void process?.kill();
      });
    },
  );

  api.get<AppRoute & { Querystring: { lines: number } }>(
    '/apps/:app/logs',
    {
      config: appAccess,
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
      config: appAccess,
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
      preValidation: async (request) => void appFor(deps, request),
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
