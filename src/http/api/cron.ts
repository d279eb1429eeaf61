import type { FastifyPluginAsync } from 'fastify';
import type { CronRun } from '../../domain/types.js';
import { CRON_RUN_STATUSES } from '../../domain/types.js';
import { appAccess, appFor, appParams, errorResponses, type ApiDeps } from './context.js';

type AppRoute = { Params: { app: string } };

const cronRunFields = {
  id: { type: 'integer' },
  entry: { type: 'string' },
  command: { type: 'string' },
  release: { type: 'integer' },
  scheduledAt: { type: 'string' },
  startedAt: { type: ['string', 'null'] },
  finishedAt: { type: ['string', 'null'] },
  status: { type: 'string', enum: [...CRON_RUN_STATUSES] },
  exitCode: { type: ['integer', 'null'] },
} as const;

const cronRun = { type: 'object', properties: { ...cronRunFields, output: { type: 'string' } } } as const;

const cronEntry = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    schedule: { type: 'string' },
    command: { type: 'string' },
    maintenance: { type: 'boolean' },
    nextRunAt: { type: ['string', 'null'] },
    lastRun: { anyOf: [{ type: 'object', properties: cronRunFields }, { type: 'null' }] },
  },
} as const;

function runView(run: CronRun, withOutput: boolean): Record<string, unknown> {
  return {
    id: run.id,
    entry: run.entryId,
    command: run.command,
    release: run.releaseVersion,
    scheduledAt: run.scheduledAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    status: run.status,
    exitCode: run.exitCode,
    ...(withOutput ? { output: run.output } : {}),
  };
}

/** app.json cron entries of the live release, and their recorded runs (the last 64 KiB of output each). */
export const cronRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get<AppRoute>(
    '/apps/:app/cron',
    {
      config: appAccess,
      schema: {
        summary: "The live release's app.json cron entries: schedule (UTC), next run, last run",
        params: appParams,
        response: { 200: { type: 'object', properties: { entries: { type: 'array', items: cronEntry } } }, ...errorResponses },
      },
    },
    async (request) => ({
      entries: deps.cron.entries(appFor(deps, request)).map(({ entry, nextRunAt, lastRun }) => ({
        ...entry,
        nextRunAt: nextRunAt ?? null,
        lastRun: lastRun ? runView(lastRun, false) : null,
      })),
    }),
  );

  api.get<AppRoute & { Querystring: { entry?: string; limit: number } }>(
    '/apps/:app/cron/runs',
    {
      config: appAccess,
      schema: {
        summary: 'Recorded cron runs, newest first, with exit code and output; ?entry=<id> for one entry',
        params: appParams,
        querystring: {
          type: 'object',
          properties: { entry: { type: 'string', pattern: '^[0-9a-f]{1,64}$' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 20 } },
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { runs: { type: 'array', items: cronRun } } }, ...errorResponses },
      },
    },
    async (request) => ({
      runs: deps.cron.runs(appFor(deps, request), { entryId: request.query.entry, limit: request.query.limit }).map((run) => runView(run, true)),
    }),
  );
};
