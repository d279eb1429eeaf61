import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { CronRun } from '../../domain/types.js';
import { AppParams, CronEntryView, CronRunView, CronRunsQuery } from '../../domain/shapes.js';
import { appAccess, appFor, errorResponses, type ApiDeps } from './context.js';

function runView(run: CronRun, withOutput: boolean): CronRunView {
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
export const cronRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/apps/:app/cron',
    {
      config: appAccess,
      schema: {
        summary: "The live release's app.json cron entries: schedule (UTC), next run, last run",
        params: AppParams,
        response: { 200: Type.Object({ entries: Type.Array(CronEntryView) }), ...errorResponses },
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

  api.get(
    '/apps/:app/cron/runs',
    {
      config: appAccess,
      schema: {
        summary: 'Recorded cron runs, newest first, with exit code and output; ?entry=<id> for one entry',
        params: AppParams,
        querystring: CronRunsQuery,
        response: { 200: Type.Object({ runs: Type.Array(CronRunView) }), ...errorResponses },
      },
    },
    async (request) => ({
      runs: deps.cron.runs(appFor(deps, request), { entryId: request.query.entry, limit: request.query.limit }).map((run) => runView(run, true)),
    }),
  );
};
