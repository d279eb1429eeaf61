import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { PilotError, ValidationError } from '../domain/errors.js';

/** One error handler: typed errors become `{error, message}` with their status; the rest is a 500. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | PilotError | Error, request, reply) => {
    if (error instanceof PilotError) {
      return reply.status(error.statusCode).send({ error: error.code, message: error.message });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500) {
      const known = FASTIFY_CLIENT_ERRORS[fastifyError.code];
      return reply.status(fastifyError.statusCode).send({
        error: known?.code ?? 'PILOT_BAD_REQUEST',
        message: known ? `${known.message} (${fastifyError.message})` : fastifyError.message,
      });
    }
    request.log.error({ err: error }, 'internal error');
    return reply.status(500).send({ error: 'PILOT_INTERNAL', message: 'internal error: the server log has the details' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'PILOT_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}

/** Fastify's own refusals of a body, named like Pilot's errors and saying what to send instead. */
const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, { code: string; message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'PILOT_INVALID_JSON', message: 'the body is not valid JSON: send a JSON object' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'PILOT_INVALID_JSON', message: 'the body is empty: send a JSON object, or no content-type' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'PILOT_UNSUPPORTED_MEDIA_TYPE', message: 'this content-type is not accepted: send application/json' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PILOT_BODY_TOO_LARGE', message: 'the body is too large for this request' },
};

/**
 * A refused body, parameter or querystring as a 400 that names the field, what it must be and
 * what it got: `body.web must be integer, got null`. Ajv reports every branch of a union, and
 * the union itself: only the deepest field's reasons are kept, joined with "or". Also reads
 * TypeBox's errors, for what is checked outside a route's schema.
 */
export function validationError(errors: FastifySchemaValidationError[], part: string): ValidationError {
  // TypeBox (WebSocket messages) also reports an unknown field as the field's `false` schema.
  const reasons = errors.filter((error) => !['anyOf', 'oneOf', 'boolean'].includes(error.keyword));
  const deepest = reasons.reduce((depth, error) => Math.max(depth, error.instancePath.split('/').length), 0);
  const kept = reasons.filter((error) => error.instancePath.split('/').length === deepest);
  const first = kept[0];
  if (!first) return new ValidationError(`${part} is not valid`);
  const field = [part, ...first.instancePath.split('/').slice(1).map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~').slice(0, 64))].join('.');
  const messages = [...new Set(kept.filter((error) => error.instancePath === first.instancePath).map(reason))];
  const aboutTheValue = !['additionalProperties', 'required', 'minProperties', 'maxProperties'].includes(first.keyword) && 'data' in first;
  const got = aboutTheValue ? `, got ${describe((first as { data?: unknown }).data)}` : '';
  return new ValidationError(`${field} ${messages.join(' or ')}${got}`);
}

function reason(error: FastifySchemaValidationError): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    // Ajv names one field, TypeBox lists them.
    const field = String(params.additionalProperty ?? (params.additionalProperties as unknown[] | undefined)?.[0]);
    return `has an unknown field ${JSON.stringify(field.slice(0, 64))}`;
  }
  if (error.keyword === 'required') return `needs the field ${JSON.stringify(params.missingProperty)}`;
  if (error.keyword === 'pattern') return `must match ${String(params.pattern)}`;
  return error.message ?? error.keyword;
}

/** What a client sent, short: `null`, `an array`, `the string "0x1"`, `the number 5`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `the ${typeof value} ${String(value)}`;
}
