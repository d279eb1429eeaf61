import type { SqliteDatabase } from './database.js';
import type {
  AppStore, ConfigStore, CronRunStore, DomainStore, EventStore, FormationStore, NewEvent, NewRelease, WebhookStore, VolumeStore, ReleaseStore, ReleaseUpdate, TokenRecord, TokenScope, TokenStore,
} from '../../domain/ports.js';
import type { App, BuildpackName, CronEntry, CronRun, CronRunStatus, DeployScripts, EventKind, HealthCheck, PilotEvent, Release, ReleaseAuthor, Webhook, ReleaseKind, ReleaseStatus, Slot } from '../../domain/types.js';
import { CRON_OUTPUT_KEPT_CHARS } from '../../domain/types.js';
import { assertTransition } from '../../domain/release-states.js';
import { releaseMaker } from '../../domain/release-authors.js';

interface AppRow {
  id: number;
  name: string;
  created_at: string;
  memory_bytes: number | null;
  cpus: number | null;
  build_dir: string | null;
  cap_add_json: string;
  links_json: string;
  maintenance: number;
  watch_seconds: number | null;
}

/** A row of AppStore.listings: the app's columns, then its live release's (all null without one). */
type ListingRow = [
  id: number, name: string, createdAt: string, buildDir: string | null, maintenance: number, watchSeconds: number | null,
  version: number | null, kind: string | null, gitSha: string | null, containerId: string | null, releasedAt: string | null,
];

const APP_COLUMNS = `id, name, created_at, memory_bytes, cpus, build_dir, cap_add_json, maintenance, watch_seconds,
  (SELECT json_group_array(linked.name) FROM app_links JOIN apps AS linked ON linked.id = app_links.linked_app_id WHERE app_links.app_id = apps.id) AS links_json`;

interface ReleaseRow {
  id: number;
  app_id: number;
  version: number;
  kind: ReleaseKind;
  git_sha: string | null;
  source: string | null;
  buildpack: BuildpackName | null;
  image: string | null;
  config_json: string;
  build_keys_json: string;
  status: ReleaseStatus;
  slot: Slot | null;
  container_id: string | null;
  port: number | null;
  health_checks_json: string;
  processes_json: string;
  formation_json: string;
  release_command: string | null;
  cron_json: string;
  scripts_json: string;
  failure_reason: string | null;
  description: string | null;
  made_by_kind: ReleaseAuthor['kind'] | null;
  made_by_token_id: number | null;
  made_by_label: string | null;
  /** 0: the token is valid, 1: revoked, null: no such token (deleted, or not a token). */
  made_by_token_revoked: 0 | 1 | null;
  created_at: string;
  updated_at: string;
}

/** A release keeps this much of its build and deploy log (the pusher still sees all of it). */
export const MAX_RELEASE_LOG_CHARS = 1024 * 1024;
const LOG_TRUNCATED = '\n[log truncated: a release keeps its first 1 MiB]\n';

const RELEASE_COLUMNS = `id, app_id, version, kind, git_sha, source, buildpack, image, config_json, build_keys_json, status, slot,
  container_id, port, health_checks_json, processes_json, formation_json, release_command, scripts_json, cron_json, failure_reason, description, created_at, updated_at,
  made_by_kind, made_by_token_id, made_by_label, (SELECT revoked_at IS NOT NULL FROM tokens WHERE tokens.id = made_by_token_id) AS made_by_token_revoked`;

/** Columns a ReleaseUpdate may set, mapped to their SQL names. */
const UPDATABLE: Record<keyof ReleaseUpdate, string> = {
  source: 'source',
  buildpack: 'buildpack',
  image: 'image',
  slot: 'slot',
  containerId: 'container_id',
  port: 'port',
  healthChecks: 'health_checks_json',
  processes: 'processes_json',
  formation: 'formation_json',
  releaseCommand: 'release_command',
  cron: 'cron_json',
  scripts: 'scripts_json',
  failureReason: 'failure_reason',
};

function toApp(row: AppRow): App {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    memoryBytes: row.memory_bytes,
    cpus: row.cpus,
    buildDir: row.build_dir,
    capAdd: JSON.parse(row.cap_add_json) as string[],
    links: (JSON.parse(row.links_json) as string[]).sort(),
    maintenance: row.maintenance === 1,
    watchSeconds: row.watch_seconds,
  };
}

function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    appId: row.app_id,
    version: row.version,
    kind: row.kind,
    gitSha: row.git_sha,
    source: row.source,
    buildpack: row.buildpack,
    image: row.image,
    config: JSON.parse(row.config_json) as Record<string, string>,
    buildKeys: JSON.parse(row.build_keys_json) as string[],
    status: row.status,
    slot: row.slot,
    containerId: row.container_id,
    port: row.port,
    healthChecks: JSON.parse(row.health_checks_json) as HealthCheck[],
    processes: JSON.parse(row.processes_json) as Record<string, string | null>,
    formation: JSON.parse(row.formation_json) as Record<string, number>,
    releaseCommand: row.release_command,
    scripts: JSON.parse(row.scripts_json) as DeployScripts,
    cron: JSON.parse(row.cron_json) as CronEntry[],
    failureReason: row.failure_reason,
    description: row.description,
    madeBy: madeByOf(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function madeByOf(row: ReleaseRow): Release['madeBy'] {
  if (row.made_by_kind === null || row.made_by_label === null) return null;
  const token = row.made_by_token_revoked === null ? 'gone' : row.made_by_token_revoked === 1 ? 'revoked' : 'valid';
  return releaseMaker({ kind: row.made_by_kind, tokenId: row.made_by_token_id, label: row.made_by_label }, token);
}

export function createAppStore(db: SqliteDatabase): AppStore {
  const listAll = db.prepare(`SELECT ${APP_COLUMNS} FROM apps ORDER BY name`);
  // Every GET /apps reads this: one statement, prepared once, whose one value SQLite builds as a
  // JSON array of rows (JSON.parse makes them several times faster than a row object per app).
  const listings = db
    .prepare(
      `SELECT json_group_array(json_array(a.id, a.name, a.created_at, a.build_dir, a.maintenance, a.watch_seconds,
         r.version, r.kind, r.git_sha, r.container_id, r.created_at) ORDER BY a.name)
       FROM apps AS a LEFT JOIN releases AS r ON r.app_id = a.id AND r.status = 'live'`,
    )
    .pluck();
  const existing = db.prepare('SELECT 1 FROM apps WHERE id = ?').pluck();
  return {
    findByName(name) {
      const row = db.prepare(`SELECT ${APP_COLUMNS} FROM apps WHERE name = ?`).get(name) as AppRow | undefined;
      return row && toApp(row);
    },
    exists(id) {
      return existing.get(id) !== undefined;
    },
    create(name) {
      // A new app of a former name: the name is its own now.
      db.prepare('DELETE FROM app_former_names WHERE name = ?').run(name);
      const { id } = db.prepare('INSERT INTO apps (name) VALUES (?) RETURNING id').get(name) as { id: number };
      return toApp(db.prepare(`SELECT ${APP_COLUMNS} FROM apps WHERE id = ?`).get(id) as AppRow);
    },
    list() {
      return (listAll.all() as AppRow[]).map(toApp);
    },
    listings() {
      return (JSON.parse(listings.get() as string) as ListingRow[]).map(
        ([id, name, createdAt, buildDir, maintenance, watchSeconds, version, kind, gitSha, containerId, releasedAt]) => ({
          app: { id, name, createdAt, buildDir, maintenance: maintenance === 1, watchSeconds },
          live: version === null ? undefined : { appId: id, version, kind: kind as ReleaseKind, gitSha, containerId, createdAt: releasedAt as string },
        }),
      );
    },
    delete(id) {
      db.prepare('DELETE FROM apps WHERE id = ?').run(id);
    },
    setLimits(id, limits) {
      db.prepare('UPDATE apps SET memory_bytes = ?, cpus = ? WHERE id = ?').run(limits.memoryBytes, limits.cpus, id);
    },
    setBuildDir(id, buildDir) {
      db.prepare('UPDATE apps SET build_dir = ? WHERE id = ?').run(buildDir, id);
    },
    setMaintenance(id, on) {
      db.prepare('UPDATE apps SET maintenance = ? WHERE id = ?').run(on ? 1 : 0, id);
    },
    rename(id, name) {
      db.transaction(() => {
        const { name: old } = db.prepare('SELECT name FROM apps WHERE id = ?').get(id) as { name: string };
        db.prepare('UPDATE apps SET name = ? WHERE id = ?').run(name, id);
        db.prepare('DELETE FROM app_former_names WHERE name = ?').run(name);
        db.prepare('INSERT OR REPLACE INTO app_former_names (name, app_id) VALUES (?, ?)').run(old, id);
      })();
    },
    renamedTo(name) {
      const row = db.prepare('SELECT apps.name FROM app_former_names JOIN apps ON apps.id = app_former_names.app_id WHERE app_former_names.name = ?').get(name) as { name: string } | undefined;
      return row?.name;
    },
    formerNames() {
      return (db.prepare('SELECT name, app_id FROM app_former_names ORDER BY name').all() as { name: string; app_id: number }[]).map((row) => ({ name: row.name, appId: row.app_id }));
    },
    setCapAdd(id, capabilities) {
      db.prepare('UPDATE apps SET cap_add_json = ? WHERE id = ?').run(JSON.stringify(capabilities), id);
    },
    link(id, linkedId) {
      return db.prepare('INSERT OR IGNORE INTO app_links (app_id, linked_app_id) VALUES (?, ?)').run(id, linkedId).changes > 0;
    },
    unlink(id, linkedId) {
      return db.prepare('DELETE FROM app_links WHERE app_id = ? AND linked_app_id = ?').run(id, linkedId).changes > 0;
    },
    linkedFrom(id) {
      return (db.prepare('SELECT apps.name FROM app_links JOIN apps ON apps.id = app_links.app_id WHERE app_links.linked_app_id = ? ORDER BY apps.name').all(id) as { name: string }[]).map((row) => row.name);
    },
    setWatchSeconds(id, seconds) {
      db.prepare('UPDATE apps SET watch_seconds = ? WHERE id = ?').run(seconds, id);
    },
  };
}

export function createReleaseStore(db: SqliteDatabase): ReleaseStore {
  const selectById = db.prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE id = ?`);
  // The apps page reads every app's at once; prepared once.
  const latestStatuses = db
    .prepare(
      `SELECT apps.name, r.status FROM releases AS r JOIN apps ON apps.id = r.app_id
       WHERE r.version = (SELECT MAX(version) FROM releases WHERE app_id = r.app_id)`,
    )
    .raw();
  const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

  function update(id: number, changes: ReleaseUpdate, status?: ReleaseStatus): void {
    const sets: string[] = [`updated_at = ${now}`];
    const values: unknown[] = [];
    for (const [key, column] of Object.entries(UPDATABLE) as [keyof ReleaseUpdate, string][]) {
      if (changes[key] === undefined) continue;
      sets.push(`${column} = ?`);
      const value = changes[key];
      values.push(typeof value === 'object' && value !== null ? JSON.stringify(value) : value);
    }
    if (status) {
      sets.push('status = ?');
      values.push(status);
    }
    db.prepare(`UPDATE releases SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  /** A release's status and how a person names it (`shop v3`). */
  function currentStatus(id: number): { status: ReleaseStatus; appId: number; name: string } {
    const row = db
      .prepare('SELECT releases.status, releases.app_id, releases.version, apps.name FROM releases JOIN apps ON apps.id = releases.app_id WHERE releases.id = ?')
      .get(id) as { status: ReleaseStatus; app_id: number; version: number; name: string } | undefined;
    if (!row) throw new Error(`release ${id} does not exist`);
    return { status: row.status, appId: row.app_id, name: `${row.name} v${row.version}` };
  }

  return {
    create(release: NewRelease) {
      // The version is computed inside the insert so two releases never share a number.
      const { madeBy } = release;
      const { id } = db
        .prepare(
          `INSERT INTO releases (app_id, version, kind, git_sha, source, config_json, build_keys_json, description, made_by_kind, made_by_token_id, made_by_label, status)
           VALUES (?, (SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, 'building')
           RETURNING id`,
        )
        .get(
          release.appId,
          release.appId,
          release.kind,
          release.gitSha,
          release.source ?? null,
          JSON.stringify(release.config),
          JSON.stringify([...(release.buildKeys ?? [])].sort()),
          release.description ?? null,
          madeBy?.kind ?? null,
          madeBy?.kind === 'token' ? madeBy.tokenId : null,
          madeBy?.label ?? null,
        ) as { id: number };
      // Read back rather than RETURNING: the token's state is a subquery, which RETURNING cannot hold.
      return toRelease(selectById.get(id) as ReleaseRow);
    },
    get(id) {
      const row = selectById.get(id) as ReleaseRow | undefined;
      return row && toRelease(row);
    },
    byVersion(appId, version) {
      const row = db
        .prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE app_id = ? AND version = ?`)
        .get(appId, version) as ReleaseRow | undefined;
      return row && toRelease(row);
    },
    live(appId) {
      const row = db
        .prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE app_id = ? AND status = 'live'`)
        .get(appId) as ReleaseRow | undefined;
      return row && toRelease(row);
    },
    allLive() {
      return (db.prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE status = 'live'`).all() as ReleaseRow[]).map(toRelease);
    },
    latestStatuses() {
      return new Map(latestStatuses.all() as [string, ReleaseStatus][]);
    },
    inProgress() {
      return (
        db.prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE status IN ('building', 'starting', 'checking') ORDER BY id`).all() as ReleaseRow[]
      ).map(toRelease);
    },
    list(appId) {
      return (
        db.prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE app_id = ? ORDER BY version DESC`).all(appId) as ReleaseRow[]
      ).map(toRelease);
    },
    update(id, changes) {
      update(id, changes);
    },
    // Checked and written in one transaction: a refused change leaves the row as it was.
    transition: db.transaction((id: number, status: ReleaseStatus, changes: ReleaseUpdate = {}) => {
      if (status === 'live') throw new Error(`release ${id} goes live through promote, which retires the release it replaces`);
      const current = currentStatus(id);
      assertTransition(current.name, current.status, status);
      update(id, changes, status);
    }),
    promote: db.transaction((id: number) => {
      const current = currentStatus(id);
      // Only from a check in progress: a release failed meanwhile (Pilot stopping) never goes live.
      assertTransition(current.name, current.status, 'live');
      db.prepare(`UPDATE releases SET status = 'retired', updated_at = ${now} WHERE app_id = ? AND status = 'live'`).run(current.appId);
      db.prepare(`UPDATE releases SET status = 'live', updated_at = ${now} WHERE id = ?`).run(id);
    }),
    appendLog(id, text) {
      // Bounded: a build that prints without end must not fill the disk through the database.
      db.prepare(
        `UPDATE releases SET log = CASE
           WHEN length(log) + length(@text) <= @max THEN log || @text
           WHEN log LIKE '%' || @marker THEN log
           ELSE log || @marker END
         WHERE id = @id`,
      ).run({ text, max: MAX_RELEASE_LOG_CHARS, marker: LOG_TRUNCATED, id });
    },
    log(id) {
      const row = db.prepare('SELECT log FROM releases WHERE id = ?').get(id) as { log: string } | undefined;
      return row?.log ?? '';
    },
  };
}

export function createConfigStore(db: SqliteDatabase): ConfigStore {
  return {
    get(appId) {
      const rows = db.prepare('SELECT key, value FROM config_vars WHERE app_id = ? ORDER BY key').all(appId) as {
        key: string;
        value: string;
      }[];
      return Object.fromEntries(rows.map((row) => [row.key, row.value]));
    },
    buildKeys(appId) {
      const rows = db.prepare('SELECT key FROM config_vars WHERE app_id = ? AND build = 1 ORDER BY key').all(appId) as { key: string }[];
      return rows.map((row) => row.key);
    },
    replace: db.transaction((appId: number, vars: Readonly<Record<string, string>>, buildKeys: readonly string[]) => {
      db.prepare('DELETE FROM config_vars WHERE app_id = ?').run(appId);
      const insert = db.prepare('INSERT INTO config_vars (app_id, key, value, build) VALUES (?, ?, ?, ?)');
      const build = new Set(buildKeys);
      for (const [key, value] of Object.entries(vars)) insert.run(appId, key, value, build.has(key) ? 1 : 0);
    }),
  };
}

export function createDomainStore(db: SqliteDatabase): DomainStore {
  const allDomains = db.prepare('SELECT app_id, hostname FROM domains ORDER BY hostname');
  return {
    all() {
      const byApp = new Map<number, string[]>();
      for (const row of allDomains.all() as { app_id: number; hostname: string }[]) byApp.set(row.app_id, [...(byApp.get(row.app_id) ?? []), row.hostname]);
      return byApp;
    },
    listForApp(appId) {
      return (db.prepare('SELECT hostname FROM domains WHERE app_id = ? ORDER BY hostname').all(appId) as { hostname: string }[]).map(
        (row) => row.hostname,
      );
    },
    owner(hostname) {
      return (db.prepare('SELECT app_id FROM domains WHERE hostname = ?').get(hostname) as { app_id: number } | undefined)?.app_id;
    },
    add(appId, hostname) {
      db.prepare('INSERT INTO domains (app_id, hostname) VALUES (?, ?)').run(appId, hostname);
    },
    remove(appId, hostname) {
      return db.prepare('DELETE FROM domains WHERE app_id = ? AND hostname = ?').run(appId, hostname).changes > 0;
    },
  };
}

interface TokenRow {
  id: number;
  name: string;
  prefix: string;
  scope: TokenScope;
  app_id: number | null;
  app_name: string | null;
  created_at: string;
  last_used_at: string | null;
}

const TOKEN_SELECT = `SELECT t.id, t.name, t.prefix, t.scope, t.app_id, a.name AS app_name, t.created_at, t.last_used_at
  FROM tokens t LEFT JOIN apps a ON a.id = t.app_id`;

function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scope: row.scope,
    appId: row.app_id,
    appName: row.app_name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export function createTokenStore(db: SqliteDatabase): TokenStore {
  // Prepared once: every authenticated request runs both.
  const selectByHash = db.prepare(`SELECT id, name, scope, app_id, hash FROM tokens WHERE hash = ? AND revoked_at IS NULL`);
  const touch = db.prepare(`UPDATE tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`);
  return {
    ensureAdminToken(name, hash, prefix) {
      db.prepare(`INSERT INTO tokens (name, prefix, hash, scope) VALUES (?, ?, ?, 'admin') ON CONFLICT (hash) DO NOTHING`).run(
        name,
        prefix,
        hash,
      );
    },
    create(token) {
      const { id } = db
        .prepare('INSERT INTO tokens (name, prefix, hash, scope, app_id) VALUES (?, ?, ?, ?, ?) RETURNING id')
        .get(token.name, token.prefix, token.hash, token.scope, token.appId) as { id: number };
      return toToken(db.prepare(`${TOKEN_SELECT} WHERE t.id = ?`).get(id) as TokenRow);
    },
    findByHash(hash) {
      const row = selectByHash.get(hash) as { id: number; name: string; scope: TokenScope; app_id: number | null; hash: string } | undefined;
      return row && { id: row.id, name: row.name, scope: row.scope, appId: row.app_id, hash: row.hash };
    },
    list() {
      return (db.prepare(`${TOKEN_SELECT} WHERE t.revoked_at IS NULL ORDER BY t.id`).all() as TokenRow[]).map(toToken);
    },
    replaceAdminToken: db.transaction((name: string, token: { hash: string; prefix: string } | undefined) => {
      db.prepare(`UPDATE tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE name = ? AND revoked_at IS NULL AND hash IS NOT ?`)
        .run(name, token?.hash ?? null);
      if (!token) return;
      db.prepare(
        `INSERT INTO tokens (name, prefix, hash, scope) VALUES (?, ?, ?, 'admin')
         ON CONFLICT (hash) DO UPDATE SET revoked_at = NULL WHERE scope = 'admin' AND name = excluded.name`,
      ).run(name, token.prefix, token.hash);
    }),
    revoke(id) {
      const row = db.prepare(`${TOKEN_SELECT} WHERE t.revoked_at IS NULL AND t.id = ?`).get(id) as TokenRow | undefined;
      if (!row) return undefined;
      db.prepare(`UPDATE tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(id);
      return toToken(row);
    },
    touch(id) {
      touch.run(id);
    },
    count() {
      return (db.prepare('SELECT COUNT(*) AS n FROM tokens WHERE revoked_at IS NULL').get() as { n: number }).n;
    },
  };
}

export function createFormationStore(db: SqliteDatabase): FormationStore {
  // The apps page reads every app's at once; prepared once.
  const everyFormation = db.prepare('SELECT app_id, process_type, quantity FROM formation').raw();
  return {
    get(appId) {
      const rows = db.prepare('SELECT process_type, quantity FROM formation WHERE app_id = ?').all(appId) as { process_type: string; quantity: number }[];
      return Object.fromEntries(rows.map((row) => [row.process_type, row.quantity]));
    },
    all() {
      const all = new Map<number, Record<string, number>>();
      for (const [appId, type, quantity] of everyFormation.all() as [number, string, number][]) all.set(appId, { ...all.get(appId), [type]: quantity });
      return all;
    },
    set: db.transaction((appId: number, quantities: Readonly<Record<string, number>>) => {
      const upsert = db.prepare(
        'INSERT INTO formation (app_id, process_type, quantity) VALUES (?, ?, ?) ON CONFLICT (app_id, process_type) DO UPDATE SET quantity = excluded.quantity',
      );
      for (const [type, quantity] of Object.entries(quantities)) upsert.run(appId, type, quantity);
    }),
  };
}

export function createVolumeStore(db: SqliteDatabase): VolumeStore {
  return {
    list(appId) {
      const rows = db.prepare('SELECT path, name, created_at FROM volumes WHERE app_id = ? ORDER BY path').all(appId) as { path: string; name: string; created_at: string }[];
      return rows.map((row) => ({ path: row.path, name: row.name, createdAt: row.created_at }));
    },
    add(appId, volume) {
      db.prepare('INSERT INTO volumes (app_id, path, name) VALUES (?, ?, ?)').run(appId, volume.path, volume.name);
    },
    remove(appId, path) {
      return db.prepare('DELETE FROM volumes WHERE app_id = ? AND path = ?').run(appId, path).changes > 0;
    },
    ownerOf(name) {
      return (db.prepare('SELECT app_id FROM volumes WHERE name = ?').get(name) as { app_id: number } | undefined)?.app_id;
    },
  };
}

/** Runs kept per entry: an every-minute entry keeps its last ~2 hours. */
export const CRON_RUNS_KEPT = 120;

interface CronRunRow {
  id: number;
  app_id: number;
  entry_id: string;
  command: string;
  release_version: number;
  scheduled_at: string;
  started_at: string | null;
  finished_at: string | null;
  status: CronRunStatus;
  exit_code: number | null;
  output: string;
}

const CRON_RUN_COLUMNS = 'id, app_id, entry_id, command, release_version, scheduled_at, started_at, finished_at, status, exit_code, output';

function toCronRun(row: CronRunRow): CronRun {
  return {
    id: row.id,
    appId: row.app_id,
    entryId: row.entry_id,
    command: row.command,
    releaseVersion: row.release_version,
    scheduledAt: row.scheduled_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status,
    exitCode: row.exit_code,
    output: row.output,
  };
}

export function createCronRunStore(db: SqliteDatabase): CronRunStore {
  const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
  const insert = db.prepare(
    `INSERT INTO cron_runs (app_id, entry_id, command, release_version, scheduled_at, started_at, finished_at, status, output)
     VALUES (@appId, @entryId, @command, @releaseVersion, @scheduledAt, ${now}, CASE WHEN @status = 'running' THEN NULL ELSE ${now} END, @status, @output)
     RETURNING ${CRON_RUN_COLUMNS}`,
  );
  // The oldest runs of the entry beyond what is kept go as a new one comes.
  const prune = db.prepare(
    `DELETE FROM cron_runs WHERE app_id = @appId AND entry_id = @entryId AND status != 'running' AND id NOT IN
       (SELECT id FROM cron_runs WHERE app_id = @appId AND entry_id = @entryId ORDER BY id DESC LIMIT @kept)`,
  );
  const add = db.transaction((run: { appId: number; entryId: string; command: string; releaseVersion: number; scheduledAt: string; status: CronRunStatus; output: string }) => {
    const row = insert.get({ ...run, output: lastChars(run.output) }) as CronRunRow;
    prune.run({ appId: run.appId, entryId: run.entryId, kept: CRON_RUNS_KEPT });
    return toCronRun(row);
  });
  return {
    start: (run) => add({ ...run, status: 'running', output: '' }),
    record: (run) => add(run),
    finish(id, result) {
      db.prepare(`UPDATE cron_runs SET status = ?, exit_code = ?, output = ?, finished_at = ${now} WHERE id = ?`).run(
        result.status,
        result.exitCode,
        lastChars(result.output),
        id,
      );
    },
    list(appId, options) {
      const rows = options.entryId === undefined
        ? db.prepare(`SELECT ${CRON_RUN_COLUMNS} FROM cron_runs WHERE app_id = ? ORDER BY id DESC LIMIT ?`).all(appId, options.limit)
        : db.prepare(`SELECT ${CRON_RUN_COLUMNS} FROM cron_runs WHERE app_id = ? AND entry_id = ? ORDER BY id DESC LIMIT ?`).all(appId, options.entryId, options.limit);
      return (rows as CronRunRow[]).map(toCronRun);
    },
    latest(appId) {
      const rows = db
        .prepare(`SELECT ${CRON_RUN_COLUMNS} FROM cron_runs WHERE id IN (SELECT MAX(id) FROM cron_runs WHERE app_id = ? GROUP BY entry_id)`)
        .all(appId) as CronRunRow[];
      return new Map(rows.map((row) => [row.entry_id, toCronRun(row)]));
    },
    interruptRunning() {
      return db
        .prepare(`UPDATE cron_runs SET status = 'interrupted', finished_at = ${now}, output = output || ? WHERE status = 'running'`)
        .run('\n[Pilot stopped during this run]\n').changes;
    },
  };
}

function lastChars(text: string): string {
  return text.length <= CRON_OUTPUT_KEPT_CHARS ? text : text.slice(-CRON_OUTPUT_KEPT_CHARS);
}

interface EventRow {
  id: number;
  app_id: number | null;
  app: string | null;
  kind: EventKind;
  message: string;
  release: number | null;
  process: string | null;
  created_at: string;
}

function eventOf(row: EventRow): PilotEvent {
  return { id: row.id, appId: row.app_id, app: row.app, kind: row.kind, message: row.message, release: row.release, process: row.process, createdAt: row.created_at };
}

export function createEventStore(db: SqliteDatabase): EventStore {
  const insert = db.prepare(
    'INSERT INTO events (app_id, app, kind, message, release, process) VALUES (@appId, @app, @kind, @message, @release, @process) RETURNING *',
  );
  // `IS` matches NULL too: the server's timeline is the rows without an app.
  const prune = db.prepare('DELETE FROM events WHERE app_id IS @appId AND id <= (SELECT id FROM events WHERE app_id IS @appId ORDER BY id DESC LIMIT 1 OFFSET @keep)');
  const newest = (where: string) => db.prepare(`SELECT * FROM (SELECT * FROM events WHERE id > @afterId ${where} ORDER BY id DESC LIMIT @limit) ORDER BY id`);
  const listAll = newest('');
  const listOne = newest('AND app_id IS @appId');
  return {
    append(event: NewEvent, keep: number) {
      return db.transaction(() => {
        const row = insert.get({ ...event, release: event.release ?? null, process: event.process ?? null }) as EventRow;
        prune.run({ appId: event.appId, keep });
        return eventOf(row);
      })();
    },
    list({ appId, afterId = 0, limit }) {
      const rows = (appId === undefined ? listAll.all({ afterId, limit }) : listOne.all({ appId, afterId, limit })) as EventRow[];
      return rows.map(eventOf);
    },
  };
}

interface WebhookRow {
  id: number;
  app_id: number | null;
  url: string;
  kinds_json: string;
  secret: string;
  created_at: string;
}

function webhookOf(row: WebhookRow): Webhook {
  return { id: row.id, appId: row.app_id, url: row.url, kinds: JSON.parse(row.kinds_json) as EventKind[], secret: row.secret, createdAt: row.created_at };
}

export function createWebhookStore(db: SqliteDatabase): WebhookStore {
  const insert = db.prepare('INSERT INTO webhooks (app_id, url, kinds_json, secret) VALUES (?, ?, ?, ?) RETURNING *');
  const list = db.prepare('SELECT * FROM webhooks WHERE app_id IS ? ORDER BY id');
  const receiving = db.prepare('SELECT * FROM webhooks WHERE app_id IS NULL OR app_id = ? ORDER BY id');
  const remove = db.prepare('DELETE FROM webhooks WHERE id = ? AND app_id IS ?');
  return {
    add(webhook) {
      return webhookOf(insert.get(webhook.appId, webhook.url, JSON.stringify(webhook.kinds), webhook.secret) as WebhookRow);
    },
    list(appId) {
      return (list.all(appId) as WebhookRow[]).map(webhookOf);
    },
    receiving(appId) {
      return (receiving.all(appId) as WebhookRow[]).map(webhookOf);
    },
    remove(id, appId) {
      return remove.run(id, appId).changes > 0;
    },
  };
}
