import type { FastifyPluginAsync } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AppParams, MetricsQuery, MetricsView, ProcessMetrics } from '../../domain/shapes.js';
import { tokenAuthorization } from '../auth.js';
import { appAccess, appFor, errorResponses, type ApiDeps } from './context.js';

/** Host and process metrics as JSON, for the CLI and charts (history on demand). */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/metrics',
    {
      schema: {
        summary: "The host's and every process's latest metrics (CPU, memory, network, restarts, uptime, disks); ?history=10s (an hour) or 5m (a day) adds their history",
        querystring: MetricsQuery,
        response: { 200: MetricsView, ...errorResponses },
      },
    },
    async (request) => ({ host: deps.metrics.host(request.query.history) ?? null, processes: deps.metrics.processes({ history: request.query.history }) }),
  );

  api.get(
    '/apps/:app/metrics',
    {
      config: appAccess,
      schema: {
        summary: "The latest metrics of the app's processes; ?history=10s (an hour) or 5m (a day) adds their history",
        params: AppParams,
        querystring: MetricsQuery,
        response: { 200: Type.Object({ processes: Type.Array(ProcessMetrics) }), ...errorResponses },
      },
    },
    async (request) => ({ processes: deps.metrics.processes({ app: appFor(deps, request).name, history: request.query.history }) }),
  );
};

/** `GET /metrics` in Prometheus's text format, for an admin token (a scraper's `authorization` bearer). */
export const prometheusRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  await app.register(tokenAuthorization, { tokens: deps.tokenStore, appId: (name) => deps.apps.findId(name) });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await deps.prometheus.text();
    return reply.type(deps.prometheus.contentType).send(text);
  });
};
