import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AppParams, RepoSourceView, RepoWebhookView, SetRepoBody } from '../../domain/shapes.js';
import { appAccess, appFor, authorOf, errorResponses, type ApiDeps } from './context.js';
import { streamDeployOutput } from './deploys.js';

/** An app's repository URL, `git:sync` and its push webhook's secret (the webhook itself: routes/repo-hook.ts). */
export const repoSourceRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/apps/:app/repo',
    {
      config: appAccess,
      schema: { summary: "The app's repository URL, branch, whether a credential is set, and what the last fetch found", params: AppParams, response: { 200: RepoSourceView, ...errorResponses } },
    },
    async (request) => deps.repoSources.view(appFor(deps, request)),
  );

  api.put(
    '/apps/:app/repo',
    {
      schema: {
        summary: 'Set or change the repository the app deploys from (https only; the credential is kept as a secret and never shown); deploy with POST .../repo/sync or the push webhook',
        params: AppParams,
        body: SetRepoBody,
        response: { 200: RepoSourceView, ...errorResponses },
      },
    },
    async (request) => deps.repoSources.set(appFor(deps, request), request.body),
  );

  api.delete(
    '/apps/:app/repo',
    { schema: { summary: 'Forget the repository URL (and its credential and webhook secret); the live release keeps serving', params: AppParams, response: { 200: Type.Object({ removed: Type.String() }), ...errorResponses } } },
    async (request) => {
      const app = appFor(deps, request);
      deps.repoSources.remove(app);
      return { removed: app.name };
    },
  );

  api.post(
    '/apps/:app/repo/sync',
    {
      config: appAccess,
      schema: {
        summary: "Fetch the branch's head and deploy it through the same build and rollout as a push; streams the output as text/plain lines ending with `\\0PILOT-RESULT ok|failed`",
        params: AppParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const app = appFor(deps, request);
      deps.repoSources.get(app);
      streamDeployOutput(reply, app.name, (write) => deps.repoSources.sync(app, authorOf(request), write));
      return reply;
    },
  );

  api.get(
    '/apps/:app/repo/webhook',
    { schema: { summary: "The push webhook's path and secret (admin only)", params: AppParams, response: { 200: RepoWebhookView, ...errorResponses } } },
    async (request) => deps.repoSources.webhook(appFor(deps, request)),
  );

  api.post(
    '/apps/:app/repo/webhook',
    { schema: { summary: "A new secret for the push webhook: the old one is refused from now on", params: AppParams, response: { 200: RepoWebhookView, ...errorResponses } } },
    async (request) => deps.repoSources.rotateWebhookSecret(appFor(deps, request)),
  );
};
