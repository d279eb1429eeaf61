import type { FastifyPluginAsync } from 'fastify';
import { errorResponses, principalOf, type ApiDeps } from './context.js';

const tokenProperties = {
  id: { type: 'integer' },
  name: { type: 'string' },
  prefix: { type: 'string' },
  scope: { type: 'string', enum: ['admin', 'app'] },
  app: { type: ['string', 'null'] },
  createdAt: { type: 'string' },
  lastUsedAt: { type: ['string', 'null'] },
} as const;

function tokenView(token: { id: number; name: string; prefix: string; scope: string; appName: string | null; createdAt: string; lastUsedAt: string | null }) {
  return { id: token.id, name: token.name, prefix: token.prefix, scope: token.scope, app: token.appName, createdAt: token.createdAt, lastUsedAt: token.lastUsedAt };
}

/** Tokens: admin tokens, and deploy tokens scoped to one app. Admin only. */
export const tokenRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/whoami',
    {
      config: { access: 'any-token' },
      schema: {
        summary: 'What the token in use may do',
        response: { 200: { type: 'object', properties: { scope: { type: 'string' }, app: { type: ['string', 'null'] } } }, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const app = principal.appId === null ? null : (deps.tokens.list().find((token) => token.id === principal.tokenId)?.appName ?? null);
      return { scope: principal.scope, app };
    },
  );

  api.get('/tokens', { schema: { summary: 'List tokens (never their secrets)', response: { 200: { type: 'array', items: { type: 'object', properties: tokenProperties } }, ...errorResponses } } }, async () => {
    return deps.tokens.list().map(tokenView);
  });

  api.post<{ Body: { name: string; app?: string } }>(
    '/tokens',
    {
      schema: {
        summary: 'Create a token; with `app`, a deploy token for that app only. The secret is in this answer only',
        body: { type: 'object', properties: { name: { type: 'string' }, app: { type: 'string' } }, required: ['name'], additionalProperties: false },
        response: { 201: { type: 'object', properties: { ...tokenProperties, token: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = deps.tokens.create(request.body);
      return reply.status(201).send({ ...tokenView(created), token: created.token });
    },
  );

  api.delete<{ Params: { token: string } }>(
    '/tokens/:token',
    {
      schema: {
        summary: 'Revoke the one token with this exact id, name or listed prefix (409 when it names several); its open WebSockets close',
        params: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
        response: { 200: { type: 'object', properties: { revoked: { type: 'array', items: { type: 'object', properties: tokenProperties } } } }, ...errorResponses },
      },
    },
    async (request) => {
      const revoked = deps.tokens.revoke(request.params.token);
      deps.sessions.endAll(revoked.id);
      return { revoked: [tokenView(revoked)] };
    },
  );
};
