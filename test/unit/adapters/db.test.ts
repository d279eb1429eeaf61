import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, schemaVersion } from '../../../src/adapters/db/database.js';
import { MIGRATIONS } from '../../../src/adapters/db/migrations.js';
import { CRON_RUNS_KEPT, MAX_RELEASE_LOG_CHARS, createAppStore, createConfigStore, createCronRunStore, createReleaseStore, createTokenStore } from '../../../src/adapters/db/stores.js';
import { goLive } from '../../helpers/releases.js';

function fresh() {
  const db = openDatabase(':memory:');
  return { db, apps: createAppStore(db), releases: createReleaseStore(db), tokens: createTokenStore(db), configVars: createConfigStore(db) };
}

describe('database', () => {
  it('applies every migration and turns foreign keys on', () => {
    const { db } = fresh();
    assert.equal(schemaVersion(db), MIGRATIONS.at(-1)?.version);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (row) => row.name,
    );
    assert.deepEqual(tables, ['app_former_names', 'app_links', 'apps', 'config_vars', 'cron_runs', 'dashboard_sessions', 'domains', 'events', 'formation', 'preview_config', 'preview_settings', 'previews', 'releases', 'repo_sources', 'tokens', 'volumes', 'webhooks']);
  });

  it('keeps the database, its -wal and -shm readable by its owner only, fixing a file an older version left 0644', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-db-mode-'));
    const file = path.join(dir, 'pilot.db');
    const mode = (name: string) => fs.statSync(name).mode & 0o777;
    const created = openDatabase(file);
    created.prepare('INSERT INTO apps (name) VALUES (?)').run('web');
    for (const name of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(name), 0o600, name);
    created.close();
    fs.chmodSync(file, 0o644);
    openDatabase(file).close();
    assert.equal(mode(file), 0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists its migrations in increasing version order (each is applied once, in that order)', () => {
    const versions = MIGRATIONS.map((migration) => migration.version);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
    assert.equal(new Set(versions).size, versions.length);
  });

  it('numbers releases per app without gaps', () => {
    const { apps, releases } = fresh();
    const a = apps.create('a');
    const b = apps.create('b');
    const versions = [a, a, b, a].map((app) => releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {} }).version);
    assert.deepEqual(versions, [1, 2, 1, 3]);
  });

  it('stores what a release did, and none for one that was not told', () => {
    const { apps, releases } = fresh();
    const app = apps.create('shop');
    const described = releases.create({ appId: app.id, kind: 'config', gitSha: null, config: {}, description: 'Set GREETING' });
    assert.equal(releases.get(described.id)?.description, 'Set GREETING');
    assert.equal(releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {} }).description, null);
  });

  it('keeps one live release per app: promoting retires the previous one', () => {
    const { apps, releases } = fresh();
    const app = apps.create('web');
    const v1 = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'aaa', config: { A: '1' } });
    goLive(releases, v1.id);
    const v2 = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'bbb', config: {} });
    goLive(releases, v2.id);
    assert.equal(releases.live(app.id)?.version, 2);
    assert.equal(releases.get(v1.id)?.status, 'retired');
    assert.deepEqual(releases.get(v1.id)?.config, { A: '1' });
  });

  it('never promotes a release that is not being checked (one failed meanwhile stays failed)', () => {
    const { apps, releases } = fresh();
    const app = apps.create('web');
    const live = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'aaa', config: {} });
    goLive(releases, live.id);
    const failed = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'bbb', config: {} });
    releases.transition(failed.id, 'failed', { failureReason: 'Pilot stopped' });
    assert.throws(() => releases.promote(failed.id), /web v2 cannot go from failed to live/);
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

  it('stores the health checks, formation and deploy scripts of a release', () => {
    const { apps, releases } = fresh();
    const release = releases.create({ appId: apps.create('web').id, kind: 'deploy', gitSha: null, config: {} });
    assert.deepEqual(releases.get(release.id)?.healthChecks, [{ path: '/' }], 'GET / until app.json says otherwise');
    const scripts = { predeploy: 'node migrate.js', postdeploy: null, firstDeploy: 'node seed.js' };
    releases.update(release.id, { healthChecks: [{ path: '/ready', attempts: 3, content: 'ok' }], formation: { worker: 2 }, scripts });
    const stored = releases.get(release.id);
    assert.deepEqual(stored?.healthChecks, [{ path: '/ready', attempts: 3, content: 'ok' }]);
    assert.deepEqual(stored?.formation, { worker: 2 });
    assert.deepEqual(stored?.scripts, scripts);
    releases.update(release.id, { releaseCommand: null });
    assert.equal(releases.get(release.id)?.releaseCommand, null);
  });

  it("carries a release's health path into its health checks when migrating", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-db-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'pilot.db');
    const old = openDatabase(file, MIGRATIONS.filter((migration) => migration.version <= 3));
    const appId = Number(old.prepare("INSERT INTO apps (name) VALUES ('old')").run().lastInsertRowid);
    old.prepare("INSERT INTO releases (app_id, version, kind, status, health_path) VALUES (?, 1, 'deploy', 'live', '/ready')").run(appId);
    old.close();
    const db = openDatabase(file);
    t.after(() => db.close());
    const release = createReleaseStore(db).live(appId);
    assert.deepEqual(release?.healthChecks, [{ path: '/ready' }]);
    assert.deepEqual(release?.formation, {});
    assert.deepEqual(release?.scripts, { predeploy: null, postdeploy: null, firstDeploy: null });
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

  it("stores a release's cron entries, and a config release or rollback can copy them", () => {
    const { apps, releases } = fresh();
    const release = releases.create({ appId: apps.create('cronned').id, kind: 'deploy', gitSha: null, config: {} });
    assert.deepEqual(release.cron, []);
    const cron = [{ id: 'ab12cd34', schedule: '@daily', command: 'node report.js', maintenance: false }];
    releases.update(release.id, { cron });
    assert.deepEqual(releases.get(release.id)?.cron, cron);
  });

  it('keeps the last runs of each cron entry, and the runs a stop cut short become interrupted', () => {
    const { db, apps } = fresh();
    const runs = createCronRunStore(db);
    const app = apps.create('cronned');
    const run = (entryId: string, minute: number) => ({ appId: app.id, entryId, command: 'true', releaseVersion: 1, scheduledAt: `2026-03-10T10:${String(minute % 60).padStart(2, '0')}:00.000Z` });
    for (let minute = 0; minute < CRON_RUNS_KEPT + 5; minute += 1) {
      runs.finish(runs.start(run('aaaa', minute)).id, { status: 'succeeded', exitCode: 0, output: `run ${minute}\n` });
    }
    const going = runs.start(run('bbbb', 0));
    runs.record({ ...run('bbbb', 1), status: 'skipped', output: 'not started' });
    assert.equal(runs.list(app.id, { entryId: 'aaaa', limit: 1000 }).length, CRON_RUNS_KEPT);
    assert.equal(runs.list(app.id, { entryId: 'aaaa', limit: 1 })[0]?.output, `run ${CRON_RUNS_KEPT + 4}\n`);
    assert.deepEqual([...runs.latest(app.id)].map(([entry, latest]) => [entry, latest.status]).sort(), [['aaaa', 'succeeded'], ['bbbb', 'skipped']]);

    assert.equal(runs.interruptRunning(), 1);
    const [interrupted] = runs.list(app.id, { entryId: 'bbbb', limit: 5 }).filter((entry) => entry.id === going.id);
    assert.equal(interrupted?.status, 'interrupted');
    assert.match(interrupted?.output ?? '', /Pilot stopped during this run/);
    apps.delete(app.id);
    assert.deepEqual(runs.list(app.id, { limit: 10 }), []);
  });

  it('keeps which config vars are build vars, replaced with the values, for vars that exist only', () => {
    const { apps, configVars } = fresh();
    const app = apps.create('web');
    assert.deepEqual(configVars.buildKeys(app.id), []);
    configVars.replace(app.id, { VITE_API_URL: 'https://api', SECRET: 's', NPM_TOKEN: 't' }, ['VITE_API_URL', 'NPM_TOKEN', 'GONE']);
    assert.deepEqual(configVars.get(app.id), { NPM_TOKEN: 't', SECRET: 's', VITE_API_URL: 'https://api' });
    assert.deepEqual(configVars.buildKeys(app.id), ['NPM_TOKEN', 'VITE_API_URL']);
    configVars.replace(app.id, { VITE_API_URL: 'https://api', SECRET: 's' }, ['SECRET']);
    assert.deepEqual(configVars.buildKeys(app.id), ['SECRET']);
    assert.deepEqual(configVars.buildKeys(apps.create('other').id), []);
  });

  it('records the build vars of each release, sorted, none when not given', () => {
    const { apps, releases } = fresh();
    const app = apps.create('web');
    const built = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'a', config: { B: '1', A: '2', C: '3' }, buildKeys: ['B', 'A'] });
    assert.deepEqual(releases.get(built.id)?.buildKeys, ['A', 'B']);
    assert.deepEqual(releases.create({ appId: app.id, kind: 'config', gitSha: 'a', config: {} }).buildKeys, []);
  });

  it('migrates a database of version 3: existing vars are runtime only, existing releases built with none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-db-'));
    try {
      const file = path.join(dir, 'pilot.db');
      const old = openDatabase(file, MIGRATIONS.filter((migration) => migration.version <= 3));
      old.prepare("INSERT INTO apps (name) VALUES ('old')").run();
      old.prepare("INSERT INTO config_vars (app_id, key, value) VALUES (1, 'GREETING', 'hi')").run();
      old.prepare("INSERT INTO releases (app_id, version, kind, status) VALUES (1, 1, 'deploy', 'live')").run();
      old.close();
      const db = openDatabase(file);
      assert.equal(schemaVersion(db), MIGRATIONS[MIGRATIONS.length - 1]?.version);
      assert.deepEqual(createConfigStore(db).get(1), { GREETING: 'hi' });
      assert.deepEqual(createConfigStore(db).buildKeys(1), []);
      assert.deepEqual(createReleaseStore(db).live(1)?.buildKeys, []);
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
