import type { FastifyError, FastifyInstance } from 'fastify';
import { PilotError } from '../domain/errors.js';

/** One error handler: typed errors become `{error, message}` with their status; the rest is a 500. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | PilotError | Error, request, reply) => {
    if (error instanceof PilotError) {
      return reply.status(error.statusCode).send({ error: error.code, message: error.message });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500) {
      return reply.status(fastifyError.statusCode).send({ error: fastifyError.code ?? 'BAD_REQUEST', message: fastifyError.message });
    }
    request.log.error({ err: error }, 'internal error');
    return reply.status(500).send({ error: 'PILOT_INTERNAL', message: 'internal error: the server log has the details' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'PILOT_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
