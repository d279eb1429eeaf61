import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTestApp } from '../../helpers/api.js';
import { localCaFile } from '../../../src/http/routes/ca-cert.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBozCCAUmgAwIBAgIQ\n-----END CERTIFICATE-----\n';

describe('GET /ca.crt', () => {
  it("serves the local CA's root certificate without a token", async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-ca-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'root.crt');
    fs.writeFileSync(file, PEM);
    const { app } = await buildTestApp(t, { localCaCertificate: localCaFile(file) });
    const response = await app.inject({ method: 'GET', url: '/ca.crt' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, PEM);
    assert.match(String(response.headers['content-type']), /^application\/x-pem-file/);
  });

  it('says that the CA does not exist yet, until Caddy made it', async (t) => {
    const { app } = await buildTestApp(t, { localCaCertificate: localCaFile(path.join(os.tmpdir(), 'pilot-no-such-dir', 'root.crt')) });
    const response = await app.inject({ method: 'GET', url: '/ca.crt' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error, 'PILOT_LOCAL_CA_NOT_READY');
    assert.match(response.json().message, /has not created its local CA yet/);
  });

  it('says there is no Pilot CA to trust with ACME or TLS off', async (t) => {
    const { app } = await buildTestApp(t);
    const response = await app.inject({ method: 'GET', url: '/ca.crt' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error, 'PILOT_NO_LOCAL_CA');
    assert.match(response.json().message, /does not use its own CA/);
  });
});
