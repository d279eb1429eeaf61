import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { AttachedProcess } from '../../domain/ports.js';
import { AppParams, LogLine, LogStreamQuery, LogsQuery, ProcessActionBody, ProcessActionParams, ProcessView, RunMessage, ScaleBody } from '../../domain/shapes.js';
import { validationError } from '../errors.js';
import { onFirstUse } from '../../lazy.js';
import { appAccess, appFor, closeOnRevocation, errorResponses, type ApiDeps } from './context.js';

/**
 * Checks each message of a `pilot run` client, compiled once (stdin comes as many messages),
 * at the first run: typebox/compile is loaded for nothing else.
 */
const runMessageCheck = onFirstUse(async () => (await import('typebox/compile')).Compile(RunMessage));

const ProcessList = Type.Array(ProcessView);

/** Process status and control, logs (last lines, and followed over a WebSocket). */
export const runtimeRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/apps/:app/ps',
    { config: appAccess, schema: { summary: "The app's containers as Docker reports them, and its process types scaled to 0", params: AppParams, response: { 200: ProcessList, ...errorResponses } } },
    async (request) => deps.processes.list(appFor(deps, request)),
  );

  api.post(
    '/apps/:app/ps/:action',
    {
      schema: {
        summary: "Restart, stop or start the app's containers; {\"type\": \"worker\"}: only those of one process type",
        params: ProcessActionParams,
        body: ProcessActionBody,
        response: { 200: ProcessList, ...errorResponses },
      },
    },
    async (request) => {
      const type = request.body?.type;
      return deps.processes.act(appFor(deps, request), request.params.action, type === undefined ? undefined : [type]);
    },
  );

  api.post(
    '/apps/:app/ps/scale',
    {
      schema: {
        summary: 'Scale process types, e.g. {"web": 3, "worker": 2}; no rebuild, no dropped request, kept across deploys',
        params: AppParams,
        body: ScaleBody,
        response: { 200: ProcessList, ...errorResponses },
      },
    },
    async (request) => {
      return deps.processes.scale(appFor(deps, request), request.body);
    },
  );

  api.get(
    '/apps/:app/run',
    {
      websocket: true,
      schema: { summary: 'Run a one-off command (WebSocket); see the OpenAPI description', params: AppParams },
      // A missing app is refused before the upgrade, as a JSON error with its status.
      preValidation: async (request) => void appFor(deps, request),
    },
    (socket, request) => {
      closeOnRevocation(deps, request, socket);
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
      const checked = runMessageCheck();
      // Each message after the check is compiled, in the order they came.
      socket.on('message', (data) => void checked.then((runMessage) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data.toString());
        } catch {
          fail(new Error('messages are JSON'));
          return;
        }
        if (!runMessage.Check(parsed)) {
          fail(validationError(runMessage.Errors(parsed), 'message'));
          return;
        }
        const message: RunMessage = parsed;
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
        if (message.resize && message.resize.columns > 0 && message.resize.rows > 0) void process?.resize(message.resize.columns, message.resize.rows);
        if (message.eof) process?.stdin?.end();
      }, fail));
      // The client went away: the command does not outlive it.
      socket.on('close', () => {
        if (!finished) void process?.kill();
      });
    },
  );

  api.get(
    '/apps/:app/logs',
    {
      config: appAccess,
      schema: {
        summary: "The last lines of the app log: every process of the live release merged in time order (ps=web or web.1 narrows it; since=<time> starts there)",
        params: AppParams,
        querystring: LogsQuery,
        response: { 200: Type.Object({ lines: Type.Array(LogLine) }), ...errorResponses },
      },
    },
    async (request) => ({ lines: await deps.logs.tail(appFor(deps, request), request.query) }),
  );

  api.get(
    '/apps/:app/logs/stream',
    {
      config: appAccess,
      websocket: true,
      schema: {
        summary: 'Follow the app log (every process of the live release) over a WebSocket: one JSON line per message; reconnect with ?after=<latest time seen> to resume',
        params: AppParams,
        querystring: LogStreamQuery,
      },
      preValidation: async (request) => void appFor(deps, request),
    },
    (socket, request) => {
      closeOnRevocation(deps, request, socket);
      const app = appFor(deps, request);
      const send = (line: LogLine): void => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(line));
      };
      const follower = deps.logs.follow(app, request.query, send);
      socket.on('close', () => follower.stop());
      void follower.done.catch((error: unknown) => {
        request.log.error({ err: error }, 'log follower failed');
        socket.close(1011, 'log stream failed');
      });
    },
  );
};
