import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateService, certificateStatus } from '../../../src/services/certificates.js';
import type { App } from '../../../src/domain/types.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const certificate = { subject: 'shop.example.com', issuer: "R11, Let's Encrypt", validFrom: '2026-11-01T00:00:00.000Z', validTo: '2027-01-30T00:00:00.000Z' };

describe('pilot certs', () => {
  it('tells a valid certificate with its expiry, an expired one, a missing one with what to check, and TLS off', () => {
    assert.deepEqual(certificateStatus('shop.example.com', { certificate }, NOW), {
      host: 'shop.example.com',
      state: 'valid',
      issuer: "R11, Let's Encrypt",
      expiresAt: '2027-01-30T00:00:00.000Z',
      note: 'expires in 59 days; Caddy renews it',
    });
    assert.equal(certificateStatus('shop.example.com', { certificate: { ...certificate, validTo: '2026-11-30T00:00:00.000Z' } }, NOW).state, 'expired');
    const missing = certificateStatus('shop.example.com', { error: 'no certificate after 5 s' }, NOW);
    assert.equal(missing.state, 'missing');
    assert.match(missing.note, /^no certificate after 5 s: .*check that shop\.example\.com resolves to this server/);
    assert.equal(certificateStatus('shop.example.com', { off: true }, NOW).state, 'off');
  });

  it("asks for the app's own host and each custom domain, and never probes with TLS off", async () => {
    const asked: string[] = [];
    const app = { id: 1, name: 'shop' } as App;
    const domains = { listForApp: () => ['www.shop.test'] } as never;
    const probe = async (host: string) => {
      asked.push(host);
      if (host === 'www.shop.test') throw new Error('Client network socket disconnected before secure TLS connection was established');
      return certificate;
    };
    const statuses = await new CertificateService({ domains, settings: { domain: 'example.com', tls: 'acme' }, probe, now: () => NOW }).list(app);
    assert.deepEqual(asked, ['shop.example.com', 'www.shop.test']);
    assert.deepEqual(statuses.map((status) => [status.host, status.state]), [['shop.example.com', 'valid'], ['www.shop.test', 'missing']]);
    asked.length = 0;
    const off = await new CertificateService({ domains, settings: { domain: 'example.com', tls: 'off' }, probe }).list(app);
    assert.deepEqual(off.map((status) => status.state), ['off', 'off']);
    assert.deepEqual(asked, []);
  });
});
