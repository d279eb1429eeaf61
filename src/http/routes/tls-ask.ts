import type { FastifyPluginAsync } from 'fastify';
import { TLS_ASK_PATH } from '../../pipeline/routes.js';

/**
 * GET /tls/ask?domain=NAME: Caddy's on-demand TLS asks here before it serves or issues a
 * certificate. 200 for a host Pilot serves, 404 for any other, so nobody can make Caddy
 * request certificates for names that are not ours. Host names are public: no token.
 */
export const tlsAskRoutes: FastifyPluginAsync<{ servesHost: (host: string) => boolean }> = async (app, { servesHost }) => {
  app.get(
    TLS_ASK_PATH,
    {
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: { domain: { type: 'string', minLength: 1, maxLength: 253 } },
          required: ['domain'],
        },
      },
    },
    async (request, reply) => {
      const { domain } = request.query as { domain: string };
      if (servesHost(domain)) return reply.status(200).send({ domain, served: true });
      return reply.status(404).send({ error: 'PILOT_UNKNOWN_HOST', message: `${domain} is not served by this Pilot` });
    },
  );
};
