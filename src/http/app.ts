import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenStore } from '../domain/ports.js';
import type { AppRegistry } from '../services/app-registry.js';
import { registerErrorHandler, validationError } from './errors.js';
import { healthReportSchema, healthRoutes, type HealthChecks } from './routes/health.js';
import { gitRoutes } from './routes/git.js';
import type { Pushers } from './pushers.js';
import { cliRoutes, type CliDownload } from './routes/cli.js';
import { caCertificateRoutes, type LocalCaCertificate } from './routes/ca-cert.js';
import { repoHookRoutes } from './routes/repo-hook.js';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import { exactBodyValidators, serializersAtFirstUse } from './schema-compilers.js';
import { authenticate, presentsInvalidToken, tokenFromRequest } from './auth.js';
import { dropUntrustedForwarding, isLoopback } from './client-address.js';
import type { CaddyOnlyConnections } from './caddy-only-listener.js';
import { ForbiddenError } from '../domain/errors.js';
import { apiRoutes } from './api/index.js';
import { prometheusRoutes } from './api/metrics.js';
import type { ApiDeps } from './api/context.js';
import cookie from '@fastify/cookie';
import { randomBytes } from 'node:crypto';
import { dashboardAdmitsBody, dashboardRoutes, type DashboardDeps } from './dashboard/index.js';
import { DashboardSessions } from './dashboard/session.js';

const WEBSOCKET_PATHS = {
  '/api/v1/apps/{app}/logs/stream': {
    get: {
      summary: 'Follow the app log over a WebSocket (upgrade): every process of the live release, one JSON message ' +
        '{time, stream, text, process} per line; reconnect with ?after=<latest time seen> to resume without gaps or repeats',
      parameters: [
        { name: 'app', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'lines', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 10000, default: 20 } },
        { name: 'after', in: 'query', schema: { type: 'string', format: 'date-time' } },
        { name: 'ps', in: 'query', schema: { type: 'string' }, description: 'a process type (web) or one process (web.1)' },
        { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
      ],
      responses: { 101: { description: 'Switching to the WebSocket protocol' } },
    },
  },
  '/api/v1/apps/{app}/run': {
    get: {
      summary: 'Run a one-off command in a new container of the live release (WebSocket, admin). Send ' +
        '{"command": [...], "tty": bool, "pipedStdin": bool, "columns": n, "rows": n} first, then, once you received {"started": true}, ' +
        '{"stdin": base64}, {"resize": {...}}, {"eof": true} (stdin is attached with tty or pipedStdin); ' +
        'receive {"stream": "stdout"|"stderr", "data": base64} and finally {"exit": code}',
      parameters: [{ name: 'app', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 101: { description: 'Switching to the WebSocket protocol' } },
    },
  },
};

/** How often Node looks for clients past the request or headers timeout. */
const TIMEOUT_CHECK_MS = 1000;

/** Failed authentications allowed per client address and minute; valid tokens are never limited. */
const FAILED_AUTH_PER_MINUTE = 10;

const WEBSOCKET_CLOSE_TIMEOUT_MS = 2000;

export interface AppDeps {
  readonly logger: Logger;
  readonly checks: HealthChecks;
  readonly tokens: TokenStore;
  readonly registry: AppRegistry;
  readonly git: { handle(request: IncomingMessage, response: ServerResponse): void };
  readonly api: ApiDeps;
  readonly maxPushBytes: number;
  readonly spoolDir: string;
  /** Who pushes what (the git route records it, the deploy socket reads it). */
  readonly pushers: Pushers;
  /** The key the managed Caddy sends with what it proxies (client-address.ts). */
  readonly proxyKey: string;
  readonly connections: ConnectionLimits;
  /** The CLI download and its install script. */
  readonly cli: CliDownload;
  /** Root certificate of Caddy's local CA (PILOT_TLS=internal), served at GET /ca.crt; undefined otherwise. */
  readonly localCaCertificate: LocalCaCertificate | undefined;
  /** The dashboard at `/` (src/http/dashboard/). */
  readonly dashboard: Omit<DashboardDeps, 'api' | 'checks'>;
  /** Swarm mode: the connections of the address only Pilot's Caddy container uses (caddy-only-listener.ts). */
  readonly caddyOnly?: CaddyOnlyConnections;
}

/** How long a client may take to send a request, and how many may be connected at once. */
export interface ConnectionLimits {
  readonly requestTimeoutSeconds: number;
  readonly headersTimeoutSeconds: number;
  readonly maxConnections: number;
}

/** Builds the control plane: health, git over HTTP, the REST API. main.ts only listens. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Only Caddy may tell us the client's real address: forwarding headers of any other
    // client, loopback included, are dropped first thing (dropUntrustedForwarding).
    // In swarm mode Caddy is a container, whose address is a peer of the Caddy-only listener.
    trustProxy: (address: string) => isLoopback(address) || deps.caddyOnly?.isPeer(address) === true,
    // The time to *send* a request (a push's pack included); a push waiting for its build has
    // sent it all, and is not cut. A slow-body client is.
    requestTimeout: deps.connections.requestTimeoutSeconds * 1000,
    // Longer than Caddy keeps its idle connections to Pilot (Caddyfile.tmpl, 60 s): Caddy drops
    // them first, so it never sends a request on one Pilot is closing (a POST's 502).
    keepAliveTimeout: 72_000,
    // Node checks those timeouts every 30 s by default: a trickling client would get 30 s more.
    http: { headersTimeout: deps.connections.headersTimeoutSeconds * 1000, connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    bodyLimit: 1024 * 1024,
    // Unknown fields are refused (400), not silently dropped: a typo must not look like success.
    // verbose: the errors carry the value refused, for the message.
    ajv: { customOptions: { removeAdditional: false, verbose: true } },
    schemaController: { compilersFactory: { buildValidator: exactBodyValidators(), buildSerializer: serializersAtFirstUse() } },
    schemaErrorFormatter: validationError,
  });
  app.server.maxConnections = deps.connections.maxConnections;
  registerErrorHandler(app);
  const dashboardSessions = new DashboardSessions(deps.dashboard.store, deps.tokens);
  // Cookies are the dashboard's only: read before the hooks below, which admit its signed-in forms.
  // The secret signs flash messages alone: a per-process one (a restart forgets them, nothing else).
  await app.register(cookie, { secret: randomBytes(32).toString('hex') });
  const admitsBody = (request: FastifyRequest) => hasValidToken(deps.tokens, request) || dashboardAdmitsBody(dashboardSessions, request);
  // Before the limit on failed authentications reads request.ip.
  app.addHook('onRequest', async (request, reply) => {
    const throughCaddy = dropUntrustedForwarding(request.raw.headers, deps.proxyKey);
    if (!throughCaddy && deps.caddyOnly?.carries(request.raw.socket)) {
      reply.header('connection', 'close');
      throw new ForbiddenError("this address serves Pilot's own Caddy only: use the control plane's URL (PILOT_BIND:PILOT_PORT or https://pilot.<domain>)");
    }
    // A refused body is never read: the connection closes after the answer instead. Not behind
    // Caddy: it may still be writing the body it has, and a close then resets the connection
    // before it reads the answer (502). Caddy closes its client's side itself (Caddyfile.tmpl),
    // which ends this request's body and Caddy's connection to Pilot with it.
    if (!throughCaddy && carriesBody(request.raw) && !signedBody(request) && !admitsBody(request)) reply.header('connection', 'close');
  });
  await app.register(rateLimit, {
    // Applied once, below, to every request (unknown routes included), before the body check.
    global: false,
    max: FAILED_AUTH_PER_MINUTE,
    timeWindow: '1 minute',
    // One client is an IPv4 address or an IPv6 /64 (a host gets a whole /64 to rotate through).
    ipv6Subnet: 64,
    allowList: (request) => !presentsInvalidToken(deps.tokens, request),
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      code: 'PILOT_TOO_MANY_FAILED_AUTHENTICATIONS',
      message: `too many failed authentications from ${request.ip}: check your token and try again in ${context.after}`,
    }),
  });
  app.addHook('onRequest', app.rateLimit());
  // Until Pilot has reconciled what runs with what it recorded (at start), nothing may change
  // what runs: the clean-up would take a change's new processes for leftovers.
  app.addHook('onRequest', async (request, reply) => {
    if (deps.checks.started() || !changesWhatRuns(request)) return;
    await reply.status(503).header('retry-after', '2').send({ error: 'PILOT_STARTING', message: 'Pilot is starting: try again in a moment' });
  });
  // Nobody sends a body without a valid token (or a dashboard session, or the sign-in form), on
  // any route (API, git, unknown) but a push webhook's, checked by its signature: refused before
  // any of it is read, so a client trickling a body holds nothing open.
  app.addHook('onRequest', async (request) => {
    if (carriesBody(request.raw) && !signedBody(request) && !dashboardAdmitsBody(dashboardSessions, request)) authenticate(deps.tokens, tokenFromRequest(request));
  });
  // A client that never answers the closing handshake holds its socket this long, not ws's 30 s
  // (ws 8.23 takes closeTimeout; its types, @types/ws 8.18, do not know it yet).
  const serverOptions = { clientTracking: true, closeTimeout: WEBSOCKET_CLOSE_TIMEOUT_MS };
  await app.register(websocket, { options: serverOptions });
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
  await app.register(cliRoutes, { cli: deps.cli });
  await app.register(caCertificateRoutes, { rootCertificate: deps.localCaCertificate });
  await app.register(gitRoutes, { tokens: deps.tokens, registry: deps.registry, git: deps.git, maxPushBytes: deps.maxPushBytes, spoolDir: deps.spoolDir, pushers: deps.pushers });
  await app.register(apiRoutes, { prefix: '/api/v1', deps: deps.api, uploads: { dir: deps.spoolDir, maxBytes: deps.maxPushBytes } });
  await app.register(prometheusRoutes, { deps: deps.api });
  await app.register(repoHookRoutes, { repoSources: deps.api.repoSources });
  await app.register(dashboardRoutes, { deps: { ...deps.dashboard, api: deps.api, checks: deps.checks }, sessions: dashboardSessions });
  return app;
}

/** Every request but a read: a POST, PATCH, PUT or DELETE, and `pilot run` (a WebSocket GET that starts a container). */
function changesWhatRuns(request: FastifyRequest): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(request.method) || request.url.split('?')[0]?.endsWith('/run') === true;
}

/** A push webhook's route: its body is authenticated by its signature (routes/repo-hook.ts), bounded there. */
function signedBody(request: FastifyRequest): boolean {
  return request.routeOptions.config?.signedBody === true;
}

function carriesBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function hasValidToken(tokens: TokenStore, request: FastifyRequest): boolean {
  return tokenFromRequest(request) !== undefined && !presentsInvalidToken(tokens, request);
}
