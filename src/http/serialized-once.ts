import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Sends a route's answer serialized (by the route's response schema, as Fastify would) once per
 * value, for a value that stays the same object while it does not change (`AppService.list`):
 * a client polling it costs the write of the bytes only. Its ETag is a digest of those bytes,
 * so it holds across restarts; a request with a matching If-None-Match gets a 304 and no body.
 * (@fastify/etag would hash the body again at every request.)
 */
export function serializedOnce(): (request: FastifyRequest, reply: FastifyReply, value: object) => FastifyReply {
  let last: { readonly value: object; readonly body: Buffer; readonly etag: string } | undefined;
  return (request, reply, value) => {
    if (last?.value !== value) {
      // Bytes, not a string: a string would be encoded again (and its garbage collected) at every write.
      const body = Buffer.from(reply.serialize(value) as string);
      last = { value, body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
    }
    reply.header('etag', last.etag);
    if (matches(request.headers['if-none-match'], last.etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(last.body);
  };
}

/** If-None-Match (RFC 9110 13.1.2): `*`, or a list of entity tags compared weakly (a W/ prefix does not count). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
