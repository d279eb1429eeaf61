import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, type GitResult } from '../helpers/integration.js';
import { PilotProcess } from '../helpers/pilot-process.js';

const skip = integrationSkipReason();

/** Backup of a running Pilot, loss of its data directory, restore into a fresh one. */
describe('backup and restore (real Pilot process, Docker, Caddy and git)', { skip }, () => {
  let pilot: PilotProcess;
  let client: GitClient;
  const backups = tempDir('backups');

  before(async () => {
    pilot = await PilotProcess.start();
    client = new GitClient(tempDir('saved'));
    await client.init();
  });
  after(async () => {
    await pilot?.close();
  });

  function push(token: string): Promise<GitResult> {
    return client.run(['push', remoteUrl(pilot.address, 'saved', token), 'HEAD:refs/heads/main']);
  }

  async function api(method: string, url: string, body?: unknown): Promise<Response> {
    return fetch(`${pilot.address}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${pilot.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  }

  async function page(ca: string): Promise<string> {
    const answer = await httpsGet({ host: `saved.${pilot.domain}`, port: pilot.httpsPort, ca });
    assert.equal(answer.status, 200);
    return answer.body;
  }

  it('restores apps, releases, config, tokens, repositories and certificates: served and deployable as before', async () => {
    await client.commit({ 'index.html': 'first' });
    assert.equal((await push(pilot.token)).code, 0);
    await client.commit({ 'index.html': 'second' });
    assert.equal((await push(pilot.token)).code, 0);
    assert.equal((await api('PATCH', '/apps/saved/config', { set: { GREETING: 'kept across restore' } })).status, 200);
    const deployToken = ((await (await api('POST', '/tokens', { name: 'ci', app: 'saved' })).json()) as { token: string }).token;
    const releasesBefore = await (await api('GET', '/apps/saved/releases')).json();
    // The CA that signed the served certificate: after the restore it must still be the one.
    const ca = path.join(backups, 'root.crt');
    fs.copyFileSync(pilot.caFile, ca);
    assert.equal(await page(ca), 'second');

    const file = path.join(backups, 'pilot-backup.tar.gz');
    const backup = await pilot.maintenance('backup', file);
    assert.equal(backup.code, 0, backup.output);
    assert.match(backup.output, /backup written to .*: 1 app\(s\), 3 release\(s\)/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the backup holds keys and tokens: owner only');

    // The machine loses Pilot's data directory (and the Caddy that ran from it).
    await pilot.terminate();
    pilot.killCaddy();
    fs.rmSync(pilot.dataDir, { recursive: true, force: true });

    const restored = await pilot.maintenance('restore', file);
    assert.equal(restored.code, 0, restored.output);
    assert.match(restored.output, /restored the backup .*: 1 app\(s\), 3 release\(s\)/);
    const again = await pilot.maintenance('restore', file);
    assert.equal(again.code, 1, 'never restored over an installation');
    assert.match(again.output, /restore only into a fresh PILOT_DATA_DIR/);

    await pilot.launch();
    assert.equal(await page(ca), 'second', 'served, with a certificate from the same CA');
    assert.deepEqual(await (await api('GET', '/apps/saved/releases')).json(), releasesBefore);
    const { config } = (await (await api('GET', '/apps/saved/config')).json()) as { config: Record<string, string> };
    assert.equal(config.GREETING, 'kept across restore');

    // Deployable as before, with the deploy token made before the backup.
    await client.commit({ 'index.html': 'third' });
    const pushed = await push(deployToken);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(await page(ca), 'third');
  });

  it('refuses a file that is not a backup, and a missing one, saying why', async () => {
    const junk = path.join(backups, 'junk.tar.gz');
    fs.writeFileSync(junk, 'not a backup');
    const fresh = await PilotProcess.start();
    try {
      await fresh.terminate();
      fs.rmSync(path.join(fresh.dataDir, 'pilot.db'));
      const refused = await fresh.maintenance('restore', junk);
      assert.equal(refused.code, 1);
      assert.match(refused.output, /this file is not a Pilot backup/);
      const missing = await fresh.maintenance('restore', path.join(backups, 'nothing.tar.gz'));
      assert.equal(missing.code, 1);
      assert.match(missing.output, /no backup at/);
    } finally {
      await fresh.close();
    }
  });
});
