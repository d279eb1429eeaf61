import type { DomainStore } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import type { TlsMode } from '../config.js';
import { appHost } from '../pipeline/routes.js';
import type { ServedCertificate } from '../adapters/caddy/certificates.js';

export type CertificateState = 'valid' | 'expired' | 'missing' | 'off';

export interface CertificateStatus {
  readonly host: string;
  readonly state: CertificateState;
  readonly issuer: string | null;
  readonly expiresAt: string | null;
  /** What the state means for this host and what to do about it. */
  readonly note: string;
}

export interface CertificateDeps {
  readonly domains: DomainStore;
  readonly settings: { readonly domain: string; readonly tls: TlsMode };
  /** The certificate Caddy serves for a host (adapters/caddy/certificates.ts). */
  readonly probe: (host: string) => Promise<ServedCertificate>;
  readonly now?: () => Date;
}

/** `pilot certs`: the certificate every host of an app is served with, as a visitor gets it. */
export class CertificateService {
  constructor(private readonly deps: CertificateDeps) {}

  async list(app: App): Promise<CertificateStatus[]> {
    const hosts = [appHost(app.name, this.deps.settings.domain), ...this.deps.domains.listForApp(app.id)];
    const now = (this.deps.now ?? (() => new Date()))();
    return Promise.all(
      hosts.map(async (host) => {
        if (this.deps.settings.tls === 'off') return certificateStatus(host, { off: true }, now);
        const served = await this.deps.probe(host).then(
          (certificate) => ({ certificate }),
          (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
        );
        return certificateStatus(host, served, now);
      }),
    );
  }
}

/** A host's state from what its handshake gave: a certificate, an error, or no TLS at all. */
export function certificateStatus(host: string, served: { certificate: ServedCertificate } | { error: string } | { off: true }, now: Date): CertificateStatus {
  if ('off' in served) return { host, state: 'off', issuer: null, expiresAt: null, note: 'TLS is off on this server (PILOT_TLS=off): plain HTTP' };
  if ('error' in served) {
    return {
      host,
      state: 'missing',
      issuer: null,
      expiresAt: null,
      note: `${served.error}: Caddy may still be obtaining it; if it never comes, check that ${host} resolves to this server (Caddy's log says why)`,
    };
  }
  const { certificate } = served;
  const expired = Date.parse(certificate.validTo) <= now.getTime();
  const days = Math.floor((Date.parse(certificate.validTo) - now.getTime()) / 86_400_000);
  return {
    host,
    state: expired ? 'expired' : 'valid',
    issuer: certificate.issuer,
    expiresAt: certificate.validTo,
    note: expired ? `expired on ${certificate.validTo}: Caddy renews it at the next handshake, or its log says why not` : `expires in ${days} days; Caddy renews it`,
  };
}
