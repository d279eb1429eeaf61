import type { FastifyPluginAsync } from 'fastify';
import { TLS_ASK_PATH } from '../../pipeline/routes.js';
import { isLoopback } from '../client-address.js';
import { ForbiddenError } from '../../domain/errors.js';

/**
 * GET /tls/ask?domain=NAME: Caddy's on-demand TLS asks here before it serves or issues a
 * certificate. 200 for a host Pilot serves, 404 for any other, so nobody can make Caddy
 * request certificates for names that are not ours. Only Caddy asks, from this machine: any
 * other client (through Caddy's control-plane site, or directly when Pilot listens on a public
 * address) gets 403 and learns nothing of which app names exist.
 */
export const tlsAskRoutes: FastifyPluginAsync<{ servesHost: (host: string) => boolean }> = async (app, { servesHost }) => {
  app.get(
    TLS_ASK_PATH,
    {
      onRequest: async (request) => {
        if (!isLoopback(request.ip)) throw new ForbiddenError("only Pilot's Caddy asks here, from this machine");
      },
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
