import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataPaths } from '../../../src/config.js';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { restoreBackup, writeBackup } from '../../../src/maintenance/backup.js';

describe('backup and restore in swarm mode', () => {
  it("take the registry's CA and password along, so that the nodes keep trusting the manager", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-backup-registry-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const from = dataPaths(path.join(root, 'from'));
    fs.mkdirSync(path.dirname(from.database), { recursive: true });
    openDatabase(from.database).close();
    fs.mkdirSync(from.registryDir, { mode: 0o700 });
    fs.writeFileSync(path.join(from.registryDir, 'ca.crt'), 'the CA');
    fs.writeFileSync(path.join(from.registryDir, 'password'), 'secret', { mode: 0o600 });
    const file = path.join(root, 'backup.tar.gz');
    await writeBackup(from, 'pt', file);

    const to = dataPaths(path.join(root, 'to'));
    await restoreBackup(to, file);
    assert.equal(fs.readFileSync(path.join(to.registryDir, 'ca.crt'), 'utf8'), 'the CA');
    assert.equal(fs.readFileSync(path.join(to.registryDir, 'password'), 'utf8'), 'secret');
    assert.equal(fs.statSync(path.join(to.registryDir, 'password')).mode & 0o777, 0o600);
  });
});
