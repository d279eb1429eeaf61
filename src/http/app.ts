import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenStore } from '../domain/ports.js';
import type { AppRegistry } from '../services/app-registry.js';
import { registerErrorHandler } from './errors.js';
import { healthReportSchema, healthRoutes, type HealthChecks } from './routes/health.js';
import { gitRoutes } from './routes/git.js';
import { tlsAskRoutes } from './routes/tls-ask.js';
import { caCertificateRoutes } from './routes/ca-cert.js';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import { presentsInvalidToken } from './auth.js';
import { apiRoutes } from './api/index.js';
import type { ApiDeps } from './api/context.js';

const WEBSOCKET_PATHS = {
  '/api/v1/apps/{app}/logs/stream': {
    get: {
      summary: 'Follow the app log over a WebSocket (upgrade): one JSON message {time, stream, text} per line; ' +
        'reconnect with ?after=<time of the last line> to resume without gaps or repeats',
      parameters: [
        { name: 'app', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'lines', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 10000, default: 20 } },
        { name: 'after', in: 'query', schema: { type: 'string', format: 'date-time' } },
      ],
      responses: { 101: { description: 'Switching to the WebSocket protocol' } },
    },
  },
  '/api/v1/apps/{app}/run': {
    get: {
      summary: 'Run a one-off command in a new container of the live release (WebSocket, admin). Send ' +
        '{"command": [...], "tty": bool, "columns": n, "rows": n} first, then {"stdin": base64}, {"resize": {...}}, {"eof": true}; ' +
        'receive {"stream": "stdout"|"stderr", "data": base64} and finally {"exit": code}',
      parameters: [{ name: 'app', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 101: { description: 'Switching to the WebSocket protocol' } },
    },
  },
};

/** Failed authentications allowed per client address and minute; valid tokens are never limited. */
const FAILED_AUTH_PER_MINUTE = 10;

export interface AppDeps {
  readonly logger: Logger;
  readonly checks: HealthChecks;
  readonly tokens: TokenStore;
  readonly registry: AppRegistry;
  readonly git: { handle(request: IncomingMessage, response: ServerResponse): void };
  readonly api: ApiDeps;
  readonly maxPushBytes: number;
  readonly spoolDir: string;
  /** Whether Pilot serves a host name (Caddy's on-demand TLS asks). */
  readonly servesHost: (host: string) => boolean;
  /** Root certificate of Caddy's local CA (PILOT_TLS=internal), served at GET /ca.crt; undefined otherwise. */
  readonly localCaCertificate: string | undefined;
}

/** Builds the control plane: health, git over HTTP, the REST API. main.ts only listens. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Only Caddy, on loopback, may tell us the client's real address.
    trustProxy: ['127.0.0.1', '::1'],
    // A push waits for its build: never cut a request for taking long (Node's default is 300 s).
    requestTimeout: 0,
    bodyLimit: 1024 * 1024,
    // Unknown fields are refused (400), not silently dropped: a typo must not look like success.
    ajv: { customOptions: { removeAdditional: false } },
  });
  registerErrorHandler(app);
  await app.register(rateLimit, {
    max: FAILED_AUTH_PER_MINUTE,
    timeWindow: '1 minute',
    // request.ip is the client's real address: Caddy's forwarded header is trusted from loopback only.
    allowList: (request) => !presentsInvalidToken(deps.tokens, request),
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      code: 'PILOT_TOO_MANY_FAILED_AUTHENTICATIONS',
      message: `too many failed authentications from ${request.ip}: check your token and try again in ${context.after}`,
    }),
  });
  await app.register(websocket);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Pilot API', version: '1', description: 'Apps, config, domains, releases, processes, logs and tokens of a Pilot server.' },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
    // @fastify/websocket hides WebSocket routes from the document; describe them here.
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      return { ...document.openapiObject, paths: { ...document.openapiObject.paths, ...WEBSOCKET_PATHS } };
    },
  });
  app.addSchema(healthReportSchema);
  await app.register(healthRoutes, { checks: deps.checks });
  await app.register(tlsAskRoutes, { servesHost: deps.servesHost });
  await app.register(caCertificateRoutes, { rootCertificate: deps.localCaCertificate });
  await app.register(gitRoutes, { tokens: deps.tokens, registry: deps.registry, git: deps.git, maxPushBytes: deps.maxPushBytes, spoolDir: deps.spoolDir });
  await app.register(apiRoutes, { prefix: '/api/v1', deps: deps.api });
  return app;
}
