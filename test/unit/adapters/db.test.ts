import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, schemaVersion } from '../../../src/adapters/db/database.js';
import { MIGRATIONS } from '../../../src/adapters/db/migrations.js';
import { MAX_RELEASE_LOG_CHARS, createAppStore, createReleaseStore, createTokenStore } from '../../../src/adapters/db/stores.js';

function fresh() {
  const db = openDatabase(':memory:');
  return { db, apps: createAppStore(db), releases: createReleaseStore(db), tokens: createTokenStore(db) };
}

describe('database', () => {
  it('applies every migration and turns foreign keys on', () => {
    const { db } = fresh();
    assert.equal(schemaVersion(db), MIGRATIONS.at(-1)?.version);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (row) => row.name,
    );
    assert.deepEqual(tables, ['apps', 'config_vars', 'domains', 'formation', 'releases', 'tokens', 'volumes']);
  });

  it('numbers releases per app without gaps', () => {
    const { apps, releases } = fresh();
    const a = apps.create('a');
    const b = apps.create('b');
    const versions = [a, a, b, a].map((app) => releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {} }).version);
    assert.deepEqual(versions, [1, 2, 1, 3]);
  });

  it('keeps one live release per app: promoting retires the previous one', () => {
    const { apps, releases } = fresh();
    const app = apps.create('web');
    const v1 = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'aaa', config: { A: '1' } });
    releases.transition(v1.id, 'checking');
    releases.promote(v1.id);
    const v2 = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'bbb', config: {} });
    releases.transition(v2.id, 'checking');
    releases.promote(v2.id);
    assert.equal(releases.live(app.id)?.version, 2);
    assert.equal(releases.get(v1.id)?.status, 'retired');
    assert.deepEqual(releases.get(v1.id)?.config, { A: '1' });
  });

  it('never promotes a release that is not being checked (one failed meanwhile stays failed)', () => {
    const { apps, releases } = fresh();
    const app = apps.create('web');
    const live = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'aaa', config: {} });
    releases.transition(live.id, 'checking');
    releases.promote(live.id);
    const failed = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'bbb', config: {} });
    releases.transition(failed.id, 'failed', { failureReason: 'Pilot stopped' });
    assert.throws(() => releases.promote(failed.id), /is failed, not checking/);
    assert.equal(releases.live(app.id)?.version, 1, 'the live release stays live');
  });

  it('stores transitions, updates and the log of a release', () => {
    const { apps, releases } = fresh();
    const app = apps.create('web');
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'abc', config: {} });
    releases.transition(release.id, 'failed', { failureReason: 'health check failed', port: 5000 });
    releases.appendLog(release.id, 'line 1\n');
    releases.appendLog(release.id, 'line 2\n');
    const stored = releases.get(release.id);
    assert.equal(stored?.status, 'failed');
    assert.equal(stored?.failureReason, 'health check failed');
    assert.equal(stored?.port, 5000);
    assert.equal(releases.log(release.id), 'line 1\nline 2\n');
  });

  it("keeps an app's build-dir until it is cleared", () => {
    const { apps } = fresh();
    const app = apps.create('mono');
    assert.equal(app.buildDir, null);
    apps.setBuildDir(app.id, 'apps/web');
    assert.equal(apps.findByName('mono')?.buildDir, 'apps/web');
    apps.setBuildDir(app.id, null);
    assert.equal(apps.findByName('mono')?.buildDir, null);
  });

  it('refuses a duplicate app name', () => {
    const { apps } = fresh();
    apps.create('web');
    assert.throws(() => apps.create('web'), /UNIQUE/);
  });

  it('finds tokens by hash only while they are not revoked', () => {
    const { db, tokens } = fresh();
    tokens.ensureAdminToken('admin', 'hash-1', 'pilot_abc');
    tokens.ensureAdminToken('admin', 'hash-1', 'pilot_abc');
    assert.equal(tokens.count(), 1);
    assert.equal(tokens.findByHash('hash-1')?.scope, 'admin');
    db.prepare("UPDATE tokens SET revoked_at = 'now'").run();
    assert.equal(tokens.findByHash('hash-1'), undefined);
  });

  it('keeps the first 1 MiB of a release log and says it was truncated, once', () => {
    const { apps, releases } = fresh();
    const release = releases.create({ appId: apps.create('chatty').id, kind: 'deploy', gitSha: null, config: {} });
    const chunk = 'x'.repeat(400 * 1024);
    for (let round = 0; round < 5; round += 1) releases.appendLog(release.id, chunk);
    const log = releases.log(release.id);
    assert.ok(log.length <= MAX_RELEASE_LOG_CHARS + 100, `the log grew to ${log.length} characters`);
    assert.ok(log.startsWith(chunk + chunk));
    assert.equal(log.match(/\[log truncated: a release keeps its first 1 MiB\]/g)?.length, 1);
  });
});
