import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { AppParams, ErrorShape, RepoHookAnswer } from '../../domain/shapes.js';
import type { RepoSources } from '../../services/repo-sources.js';

/** Push events are small (GitHub caps a push's commits in its payload); a larger body is refused unread. */
export const HOOK_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
const HOOK_TYPES = ['application/json', 'application/x-www-form-urlencoded'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route authenticates its request by a signature of the body, not a token (app.ts lets its body in). */
    signedBody?: boolean;
  }
}

/**
 * The push webhook of an app with a repository URL: no Pilot token, the app's webhook secret
 * only (repo-sources.ts checks the signature of the raw body in constant time). 202 for what
 * it accepts or ignores, with the reason; 401 for anything not signed with the secret.
 */
export const repoHookRoutes: FastifyPluginAsync<{ repoSources: Pick<RepoSources, 'receiveWebhook'> }> = async (app, { repoSources }) => {
  // The raw bytes: the signature is of the body as sent.
  app.addContentTypeParser(HOOK_TYPES, { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: 'PILOT_WEBHOOK_TOO_LARGE', message: `the webhook body is larger than ${HOOK_BODY_LIMIT_BYTES / 1024 / 1024} MB: nothing was deployed` });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_EMPTY_TYPE') {
      return reply.status(415).send({ error: 'PILOT_WEBHOOK_MEDIA_TYPE', message: 'send the push event as application/json (or form-encoded, as payload=)' });
    }
    throw error;
  });

  app.post<{ Params: { app: string } }>(
    '/api/v1/apps/:app/hooks/push',
    {
      config: { signedBody: true },
      schema: {
        summary:
          'Push webhook (no Pilot token): GitHub (X-Hub-Signature-256), GitLab (X-Gitlab-Token), Gitea (X-Gitea-Signature), Forgejo (X-Forgejo-Signature) ' +
          'or Pilot\'s form ({"ref": "refs/heads/main", "after": sha} with X-Pilot-Signature-256: sha256=<HMAC-SHA256 of the body>). ' +
          "A push to the app's branch fetches and deploys its head (202); other events answer 202 with why nothing deploys; a wrong or missing signature is 401",
        params: AppParams,
        security: [],
        response: { 200: RepoHookAnswer, 202: RepoHookAnswer, 503: RepoHookAnswer, 400: ErrorShape, 401: ErrorShape, 413: ErrorShape, 415: ErrorShape },
      },
    },
    async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const answer = repoSources.receiveWebhook({ app: request.params.app, headers: request.headers, body, contentType });
      return reply.status(answer.result === 'pong' ? 200 : answer.result === 'stopping' ? 503 : 202).send(answer);
    },
  );
};
