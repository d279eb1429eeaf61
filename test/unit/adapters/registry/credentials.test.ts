import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { ensureRegistryCredentials } from '../../../../src/adapters/registry/credentials.js';

describe('ensureRegistryCredentials (openssl)', () => {
  const temporary = () => fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-registry-credentials-'));

  it('makes a CA, a server certificate for the address it signs, and a password the htpasswd line accepts', async (t) => {
    const dir = temporary();
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const made = await ensureRegistryCredentials(path.join(dir, 'registry'), '10.1.2.3', 'pt');
    assert.equal(fs.statSync(path.join(dir, 'registry')).mode & 0o777, 0o700);
    for (const secret of ['ca.key', 'server.key', 'password']) assert.equal(fs.statSync(path.join(dir, 'registry', secret)).mode & 0o777, 0o600, secret);
    const ca = new X509Certificate(made.caCertificate);
    assert.ok(ca.ca);
    assert.equal(made.caFingerprint, ca.fingerprint256);
    const server = new X509Certificate(made.serverChain.slice(0, made.serverChain.indexOf('-----END CERTIFICATE-----') + 25));
    assert.ok(server.verify(ca.publicKey), 'signed by the CA');
    assert.equal(server.checkIP('10.1.2.3'), '10.1.2.3');
    assert.ok(made.serverChain.endsWith(made.caCertificate), 'served with the CA after it');
    const [user, hash] = made.htpasswd.trim().split(':') as [string, string];
    assert.equal(user, 'pilot');
    assert.ok(await bcrypt.compare(made.password, hash));
    assert.ok(made.password.length >= 32);
  });

  it('keeps the CA and password, and issues the certificate again when the address changes', async (t) => {
    const dir = temporary();
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const first = await ensureRegistryCredentials(dir, '10.1.2.3', 'pt');
    const again = await ensureRegistryCredentials(dir, '10.1.2.3', 'pt');
    assert.equal(again.serverChain, first.serverChain);
    const moved = await ensureRegistryCredentials(dir, 'manager.example.com', 'pt');
    assert.equal(moved.caCertificate, first.caCertificate);
    assert.equal(moved.password, first.password);
    assert.notEqual(moved.serverChain, first.serverChain);
    assert.equal(new X509Certificate(moved.serverChain).checkHost('manager.example.com'), 'manager.example.com');
  });
});
