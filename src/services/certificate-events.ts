import type { EventLog } from '../domain/ports.js';
import type { CertificateOutcome } from '../adapters/caddy/certificate-log.js';

/** Whose timeline a host's certificate belongs to: an app's, the server's (its own host), or nobody's. */
export type HostOwner = { readonly appId: number; readonly app: string } | 'server' | undefined;

export interface CertificateEventDeps {
  readonly events: EventLog;
  /** The app serving a host now (its PILOT_DOMAIN name or a custom domain), 'server' for Pilot's own. */
  readonly ownerOf: (host: string) => HostOwner;
}

/**
 * Turns what Caddy says of certificates into the timelines' `certificate.issued` and
 * `certificate.failed`, once per change of a host's state: Caddy repeats a failure at each
 * attempt (and each handshake of on-demand TLS), which is told once until it is issued or fails
 * with another error.
 */
export class CertificateEvents {
  private readonly lastOutcome = new Map<string, string>();

  constructor(private readonly deps: CertificateEventDeps) {}

  observe(outcome: CertificateOutcome): void {
    const host = outcome.host.toLowerCase();
    const state = outcome.outcome === 'issued' ? 'issued' : `failed: ${outcome.error}`;
    if (this.lastOutcome.get(host) === state) return;
    const owner = this.deps.ownerOf(host);
    if (owner === undefined) return;
    this.lastOutcome.set(host, state);
    const timeline = owner === 'server' ? { appId: null, app: null } : owner;
    this.deps.events.record(
      outcome.outcome === 'issued'
        ? { ...timeline, kind: 'certificate.issued', message: `the certificate of ${host} was issued` }
        : { ...timeline, kind: 'certificate.failed', message: `the certificate of ${host} could not be obtained: ${outcome.error}` },
    );
  }
}
