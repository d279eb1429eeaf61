import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppParams, DestroyedApp, PreviewBranchQuery, PreviewConfigBody, PreviewConfigView, PreviewList, PreviewSettingsBody } from '../../domain/shapes.js';
import { appAccess, appFor, errorResponses, type ApiDeps } from './context.js';

/**
 * An app's preview apps (services/previews.ts). Its deploy token may list them and destroy one,
 * as it may push and delete their branches; the settings and the overrides are admin-only.
 */
export const previewRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/apps/:app/previews',
    { config: appAccess, schema: { summary: "The app's preview settings and its preview apps (branch, app, URL, release)", params: AppParams, response: { 200: PreviewList, ...errorResponses } } },
    async (request) => deps.previews.list(appFor(deps, request)),
  );

  api.patch(
    '/apps/:app/previews',
    {
      schema: {
        summary: 'Turn previews on or off: a push of a branch matching the pattern (null: every branch but the deploy branch) deploys <app>--<branch>, up to maxPreviews',
        params: AppParams,
        body: PreviewSettingsBody,
        response: { 200: PreviewList, ...errorResponses },
      },
    },
    async (request) => deps.previews.configure(appFor(deps, request), request.body),
  );

  api.delete(
    '/apps/:app/previews',
    {
      config: appAccess,
      schema: {
        summary: "Destroy the preview of a branch (?branch=B) with its containers, images, volumes and routes; the branch's next push deploys it again",
        params: AppParams,
        querystring: PreviewBranchQuery,
        response: { 200: DestroyedApp, ...errorResponses },
      },
    },
    async (request) => deps.previews.destroy(appFor(deps, request), request.query.branch),
  );

  api.get(
    '/apps/:app/previews/config',
    { schema: { summary: 'The config vars previews get in place of the app\'s, with their values', params: AppParams, response: { 200: PreviewConfigView, ...errorResponses } } },
    async (request) => deps.previews.config(appFor(deps, request)),
  );

  api.patch(
    '/apps/:app/previews/config',
    {
      schema: {
        summary: "Set or unset preview overrides: previews get the app's config with these in place, from their branch's next push",
        params: AppParams,
        body: PreviewConfigBody,
        response: { 200: PreviewConfigView, ...errorResponses },
      },
    },
    async (request) => deps.previews.changeConfig(appFor(deps, request), request.body),
  );
};
