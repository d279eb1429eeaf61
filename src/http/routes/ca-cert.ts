import fs from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

export const CA_CERTIFICATE_PATH = '/ca.crt';

/** Caddy's local root certificate: where it is (for the message when it is not there yet) and how to read it. */
export interface LocalCaCertificate {
  readonly location: string;
  read(): Promise<string>;
}

/** The root certificate of the host's Caddy, a file of Pilot's data dir. */
export function localCaFile(file: string): LocalCaCertificate {
  return { location: file, read: () => fs.promises.readFile(file, 'utf8') };
}

/**
 * GET /ca.crt: the root certificate of Caddy's local CA (PILOT_TLS=internal), for clients to
 * trust (git's http.sslCAInfo, curl --cacert, NODE_EXTRA_CA_CERTS). A CA certificate is
 * public: no token. With ACME or TLS off there is no Pilot CA to trust, and the answer says so.
 */
export const caCertificateRoutes: FastifyPluginAsync<{ rootCertificate: LocalCaCertificate | undefined }> = async (app, { rootCertificate }) => {
  app.get(CA_CERTIFICATE_PATH, { schema: { hide: true } }, async (_request, reply) => {
    if (!rootCertificate) {
      return reply.status(404).send({
        error: 'PILOT_NO_LOCAL_CA',
        message: 'this Pilot does not use its own CA (PILOT_TLS is not internal): its certificates come from ACME, which clients trust already, or TLS is off',
      });
    }
    let pem: string;
    try {
      pem = await rootCertificate.read();
    } catch {
      return reply.status(404).send({
        error: 'PILOT_LOCAL_CA_NOT_READY',
        message: `Caddy has not created its local CA yet (${rootCertificate.location}): it does at its first HTTPS request; try again in a moment`,
      });
    }
    return reply.type('application/x-pem-file').header('content-disposition', 'attachment; filename="pilot-ca.crt"').send(pem);
  });
};
