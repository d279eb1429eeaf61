import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { TokenRecord } from '../../domain/ports.js';
import { CreateTokenBody, CreatedTokenView, TokenParams, TokenView, Whoami } from '../../domain/shapes.js';
import { errorResponses, principalOf, type ApiDeps } from './context.js';

/** Revokes a token and ends what it holds open (WebSockets; dashboard sessions check the token at every request). */
export function revokeToken(deps: ApiDeps, reference: string): TokenRecord {
  const revoked = deps.tokens.revoke(reference);
  deps.sessions.endAll(revoked.id);
  return revoked;
}

export function tokenView(token: TokenRecord): TokenView {
  return { id: token.id, name: token.name, prefix: token.prefix, scope: token.scope, app: token.appName, createdAt: token.createdAt, lastUsedAt: token.lastUsedAt };
}

/** Tokens: admin tokens, and deploy tokens scoped to one app. Admin only. */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/whoami',
    {
      config: { access: 'any-token' },
      schema: { summary: 'What the token in use may do', response: { 200: Whoami, ...errorResponses } },
    },
    async (request) => {
      const principal = principalOf(request);
      const app = principal.appId === null ? null : (deps.tokens.list().find((token) => token.id === principal.tokenId)?.appName ?? null);
      return { scope: principal.scope, app };
    },
  );

  api.get('/tokens', { schema: { summary: 'List tokens (never their secrets)', response: { 200: Type.Array(TokenView), ...errorResponses } } }, async () => {
    return deps.tokens.list().map(tokenView);
  });

  api.post(
    '/tokens',
    {
      schema: {
        summary: 'Create a token; with `app`, a deploy token for that app only. The secret is in this answer only',
        body: CreateTokenBody,
        response: { 201: CreatedTokenView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = deps.tokens.create(request.body);
      return reply.status(201).send({ ...tokenView(created), token: created.token });
    },
  );

  api.delete(
    '/tokens/:token',
    {
      schema: {
        summary: 'Revoke the one token with this exact id, name or listed prefix (409 when it names several); its open WebSockets close',
        params: TokenParams,
        response: { 200: Type.Object({ revoked: Type.Array(TokenView) }), ...errorResponses },
      },
    },
    async (request) => ({ revoked: [tokenView(revokeToken(deps, request.params.token))] }),
  );
};
