import tls from 'node:tls';

/** The certificate Caddy answers a TLS handshake for a name with. */
export interface ServedCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
}

/**
 * Shakes hands with Caddy on `address:port` for `servername` and reads the certificate it
 * presents, as a visitor's browser would (with on-demand TLS this is also what makes Caddy
 * obtain one). Rejects with the handshake's error, or after `timeoutMs`.
 */
export function probeServedCertificate(address: string, port: number, servername: string, timeoutMs: number): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    // Not verified on purpose: an untrusted or expired certificate is what we want to report.
    const socket = tls.connect({ host: address, port, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no certificate after ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const certificate = socket.getPeerCertificate();
      socket.end();
      if (!certificate || Object.keys(certificate).length === 0) return reject(new Error('the handshake gave no certificate'));
      resolve({
        subject: field(certificate.subject?.CN),
        issuer: [field(certificate.issuer?.CN), field(certificate.issuer?.O)].filter(Boolean).join(', '),
        validFrom: new Date(certificate.valid_from).toISOString(),
        validTo: new Date(certificate.valid_to).toISOString(),
      });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A certificate name field: one value, or several when the name repeats it. */
function field(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}
