import type { FastifyPluginAsync } from 'fastify';

export interface HealthChecks {
  database(): Promise<void>;
  docker(): Promise<void>;
  caddy(): Promise<boolean>;
  /** False while Pilot starts (routes, clean-up after a crash, the deploy socket): not ready for pushes yet. */
  started(): boolean;
}

interface CheckResult {
  ok: boolean;
  error?: string;
}

async function check(probe: () => Promise<unknown>): Promise<CheckResult> {
  try {
    const result = await probe();
    return result === false ? { ok: false, error: 'not reachable' } : { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

const checkSchema = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, error: { type: 'string' } },
  required: ['ok'],
} as const;

/** GET /health: the database, the Docker engine and Caddy, each reported on its own. */
export const healthRoutes: FastifyPluginAsync<{ checks: HealthChecks }> = async (app, { checks }) => {
  app.get(
    '/health',
    {
      schema: {
        response: {
          '2xx': { $ref: 'HealthReport#' },
          '5xx': { $ref: 'HealthReport#' },
        },
      },
      // Monitors ask this of an idle server: answered without loading Fastify's schema compilers
      // (http/schema-compilers.ts). The handler builds the report in the schema's shape and
      // order, so JSON.stringify writes what fast-json-stringify would.
      serializerCompiler: () => (report) => JSON.stringify(report),
    },
    async (_request, reply) => {
      const [database, docker, caddy] = await Promise.all([check(checks.database), check(checks.docker), check(checks.caddy)]);
      const ok = database.ok && docker.ok && caddy.ok;
      const status = !checks.started() ? 'starting' : ok ? 'ok' : 'degraded';
      return reply.status(status === 'ok' ? 200 : 503).send({ status, checks: { database, docker, caddy } });
    },
  );
};

export const healthReportSchema = {
  $id: 'HealthReport',
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded', 'starting'] },
    checks: {
      type: 'object',
      properties: { database: checkSchema, docker: checkSchema, caddy: checkSchema },
      required: ['database', 'docker', 'caddy'],
    },
  },
  required: ['status', 'checks'],
} as const;
