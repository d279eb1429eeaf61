import type { FastifyPluginAsync } from 'fastify';
import { tokenAuthorization } from '../auth.js';
import type { ApiDeps } from './context.js';
import { appRoutes } from './apps.js';
import { releaseRoutes } from './releases.js';
import { runtimeRoutes } from './runtime.js';
import { tokenRoutes } from './tokens.js';
import { storageRoutes } from './storage.js';
import { cronRoutes } from './cron.js';
import { deployRoutes, type UploadSettings } from './deploys.js';
import { metricsRoutes } from './metrics.js';
import { eventRoutes } from './events.js';
import { webhookRoutes } from './webhooks.js';
import { previewRoutes } from './previews.js';
import { nodeRoutes } from './nodes.js';
import { repoSourceRoutes } from './repo-sources.js';

/**
 * The REST API under /api/v1: every route needs a token (Bearer) and is admin-only unless it
 * declares `config.access` (auth.ts); the OpenAPI document needs none.
 */
export const apiRoutes: FastifyPluginAsync<{ deps: ApiDeps; uploads: UploadSettings }> = async (app, { deps, uploads }) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (api) => {
    await api.register(tokenAuthorization, { tokens: deps.tokenStore, appId: (name) => deps.apps.findId(name), parentId: (name) => deps.previews.parentId(name) });
    await api.register(appRoutes, { deps });
    await api.register(releaseRoutes, { deps });
    await api.register(runtimeRoutes, { deps });
    await api.register(tokenRoutes, { deps });
    await api.register(storageRoutes, { deps });
    await api.register(cronRoutes, { deps });
    await api.register(deployRoutes, { deps, uploads });
    await api.register(metricsRoutes, { deps });
    await api.register(eventRoutes, { deps });
    await api.register(webhookRoutes, { deps });
    await api.register(previewRoutes, { deps });
    await api.register(nodeRoutes, { deps });
    await api.register(repoSourceRoutes, { deps });
  });
};
