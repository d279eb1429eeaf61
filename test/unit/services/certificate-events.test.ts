import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NewEvent } from '../../../src/domain/ports.js';
import { certificateOutcome, followLog } from '../../../src/adapters/caddy/certificate-log.js';
import { CertificateEvents, type HostOwner } from '../../../src/services/certificate-events.js';
import { waitFor } from '../../helpers/integration.js';

// Lines as Caddy 2.6 writes them (its JSON log), one of each kind the parser must tell apart.
const OBTAINED = '{"level":"info","ts":1796131200.1,"logger":"tls.obtain","msg":"certificate obtained successfully","identifier":"shop.example.com"}';
const OBTAINING = '{"level":"info","ts":1796131200.0,"logger":"tls.obtain","msg":"obtaining certificate","identifier":"shop.example.com"}';
const ISSUER_FAILED =
  '{"level":"error","ts":1796131201.2,"logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"www.shop.test","issuer":"acme-v02.api.letsencrypt.org-directory","error":"HTTP 400 urn:ietf:params:acme:error:dns - DNS problem: NXDOMAIN looking up A for www.shop.test"}';
const RETRY_FAILED =
  '{"level":"error","ts":1796131202.3,"logger":"tls.obtain","msg":"will retry","error":"[www.shop.test] Obtain: [www.shop.test] solving challenges: timeout","attempt":1,"retrying_in":60}';
const STAPLING = '{"level":"warn","ts":1796131200.2,"logger":"tls","msg":"stapling OCSP","error":"no OCSP stapling for [shop.example.com]","identifiers":["shop.example.com"]}';
const ACCESS = '{"level":"error","ts":1796131203.0,"logger":"http.log.error","msg":"dial tcp 10.0.0.2:5000: connect: connection refused","error":"x"}';

describe('certificateOutcome (Caddy log lines)', () => {
  it('reads an issued certificate and failures, with the host and the error, and nothing else', () => {
    assert.deepEqual(certificateOutcome(OBTAINED), { host: 'shop.example.com', outcome: 'issued' });
    assert.deepEqual(certificateOutcome(ISSUER_FAILED), {
      host: 'www.shop.test',
      outcome: 'failed',
      error: 'could not get certificate from issuer: HTTP 400 urn:ietf:params:acme:error:dns - DNS problem: NXDOMAIN looking up A for www.shop.test',
    });
    assert.deepEqual(certificateOutcome(RETRY_FAILED), { host: 'www.shop.test', outcome: 'failed', error: 'will retry: [www.shop.test] Obtain: [www.shop.test] solving challenges: timeout' });
    for (const line of [OBTAINING, STAPLING, ACCESS, 'not json "tls', '']) assert.equal(certificateOutcome(line), undefined, line);
  });
});

describe('CertificateEvents', () => {
  const owners: Record<string, HostOwner> = { 'shop.example.com': { appId: 1, app: 'shop' }, 'www.shop.test': { appId: 1, app: 'shop' }, 'pilot.example.com': 'server' };
  const build = () => {
    const recorded: NewEvent[] = [];
    const certificates = new CertificateEvents({ events: { record: (event) => void recorded.push(event) }, ownerOf: (host) => owners[host] });
    const observe = (line: string): void => {
      const outcome = certificateOutcome(line);
      assert.ok(outcome, line);
      certificates.observe(outcome);
    };
    return { recorded, observe, certificates };
  };

  it("records certificate.issued and certificate.failed in the owner's timeline, a failure with Caddy's error", () => {
    const { recorded, observe } = build();
    observe(OBTAINED);
    observe(ISSUER_FAILED);
    observe(OBTAINED.replaceAll('shop.example.com', 'pilot.example.com'));
    assert.deepEqual(recorded, [
      { appId: 1, app: 'shop', kind: 'certificate.issued', message: 'the certificate of shop.example.com was issued' },
      {
        appId: 1,
        app: 'shop',
        kind: 'certificate.failed',
        message: 'the certificate of www.shop.test could not be obtained: could not get certificate from issuer: HTTP 400 urn:ietf:params:acme:error:dns - DNS problem: NXDOMAIN looking up A for www.shop.test',
      },
      { appId: null, app: null, kind: 'certificate.issued', message: 'the certificate of pilot.example.com was issued' },
    ]);
  });

  it('tells a state once: a failure Caddy repeats is one event until the error changes or the certificate comes', () => {
    const { recorded, observe } = build();
    observe(ISSUER_FAILED);
    observe(ISSUER_FAILED);
    observe(RETRY_FAILED);
    observe(RETRY_FAILED);
    observe(OBTAINED.replaceAll('shop.example.com', 'www.shop.test'));
    observe(OBTAINED.replaceAll('shop.example.com', 'www.shop.test'));
    observe(ISSUER_FAILED);
    assert.deepEqual(
      recorded.map((event) => event.kind),
      ['certificate.failed', 'certificate.failed', 'certificate.issued', 'certificate.failed'],
    );
  });

  it('ignores hosts no app (nor the server) has', () => {
    const { recorded, observe } = build();
    observe(OBTAINED.replaceAll('shop.example.com', 'gone.example.com'));
    assert.deepEqual(recorded, []);
  });
});

describe('followLog', () => {
  it('hands over each line appended after it started, across partial writes and a truncation', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-follow-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'caddy.log');
    fs.writeFileSync(file, 'before start\n');
    const lines: string[] = [];
    const stop = followLog(file, (line) => lines.push(line), 20);
    t.after(stop);
    fs.appendFileSync(file, 'one\ntw');
    await waitFor('the first line', async () => (lines.length === 1 ? true : undefined));
    fs.appendFileSync(file, 'o\n');
    await waitFor('the second line', async () => (lines.length === 2 ? true : undefined));
    fs.writeFileSync(file, 'after truncation\n');
    await waitFor('the line after the truncation', async () => (lines.length === 3 ? true : undefined));
    assert.deepEqual(lines, ['one', 'two', 'after truncation']);
  });
});
