import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AddWebhookBody, AppParams, AppWebhookParams, CreatedWebhookView, WebhookParams, WebhookView } from '../../domain/shapes.js';
import type { Webhook } from '../../domain/types.js';
import { appFor, errorResponses, type ApiDeps } from './context.js';

const WebhookList = Type.Array(WebhookView);

/** Webhooks, server-wide and per app: admin only (a webhook receives every event it names, secrets included in nothing). */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  const view = (webhook: Webhook): WebhookView => ({
    id: webhook.id,
    app: webhook.appId === null ? null : (deps.apps.nameOf(webhook.appId) ?? null),
    url: webhook.url,
    events: [...webhook.kinds],
    createdAt: webhook.createdAt,
  });

  api.get('/webhooks', { schema: { summary: 'The server-wide webhooks (they get every app\'s events and the server\'s)', response: { 200: WebhookList, ...errorResponses } } }, async () =>
    deps.webhooks.list(null).map(view),
  );

  api.post(
    '/webhooks',
    { schema: { summary: 'Add a server-wide webhook; the answer holds its signing secret, once', body: AddWebhookBody, response: { 201: CreatedWebhookView, ...errorResponses } } },
    async (request, reply) => {
      const webhook = deps.webhooks.add(null, request.body);
      return reply.status(201).send({ ...view(webhook), secret: webhook.secret });
    },
  );

  api.delete('/webhooks/:id', { schema: { summary: 'Remove a server-wide webhook', params: WebhookParams, response: { 200: Type.Object({ removed: Type.Integer() }), ...errorResponses } } }, async (request) => {
    deps.webhooks.remove(null, request.params.id);
    return { removed: request.params.id };
  });

  api.get('/apps/:app/webhooks', { schema: { summary: "The app's webhooks", params: AppParams, response: { 200: WebhookList, ...errorResponses } } }, async (request) =>
    deps.webhooks.list(appFor(deps, request).id).map(view),
  );

  api.post(
    '/apps/:app/webhooks',
    {
      schema: { summary: "Add a webhook of the app's events; the answer holds its signing secret, once", params: AppParams, body: AddWebhookBody, response: { 201: CreatedWebhookView, ...errorResponses } },
    },
    async (request, reply) => {
      const webhook = deps.webhooks.add(appFor(deps, request).id, request.body);
      return reply.status(201).send({ ...view(webhook), secret: webhook.secret });
    },
  );

  api.delete(
    '/apps/:app/webhooks/:id',
    { schema: { summary: "Remove a webhook of the app's", params: AppWebhookParams, response: { 200: Type.Object({ removed: Type.Integer() }), ...errorResponses } } },
    async (request) => {
      deps.webhooks.remove(appFor(deps, request).id, request.params.id);
      return { removed: request.params.id };
    },
  );
};
