import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenStore } from '../domain/ports.js';
import type { AppRegistry } from '../services/app-registry.js';
import { registerErrorHandler } from './errors.js';
import { healthReportSchema, healthRoutes, type HealthChecks } from './routes/health.js';
import { gitRoutes } from './routes/git.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly checks: HealthChecks;
  readonly tokens: TokenStore;
  readonly registry: AppRegistry;
  readonly git: { handle(request: IncomingMessage, response: ServerResponse): void };
}

/** Builds the control plane: health, git over HTTP (and, later, the REST API). main.ts only listens. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Only Caddy, on loopback, may tell us the client's real address.
    trustProxy: ['127.0.0.1', '::1'],
    // A push waits for its build: never cut a request for taking long (Node's default is 300 s).
    requestTimeout: 0,
    bodyLimit: 1024 * 1024,
  });
  registerErrorHandler(app);
  app.addSchema(healthReportSchema);
  await app.register(healthRoutes, { checks: deps.checks });
  await app.register(gitRoutes, { tokens: deps.tokens, registry: deps.registry, git: deps.git });
  return app;
}
