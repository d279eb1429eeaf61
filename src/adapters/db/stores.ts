import type { SqliteDatabase } from './database.js';
import type { AppStore, ConfigStore, DomainStore, NewRelease, ReleaseStore, ReleaseUpdate, TokenStore } from '../../domain/ports.js';
import type { App, BuildpackName, Release, ReleaseKind, ReleaseStatus, Slot } from '../../domain/types.js';

interface AppRow {
  id: number;
  name: string;
  created_at: string;
}

interface ReleaseRow {
  id: number;
  app_id: number;
  version: number;
  kind: ReleaseKind;
  git_sha: string | null;
  buildpack: BuildpackName | null;
  image: string | null;
  config_json: string;
  status: ReleaseStatus;
  slot: Slot | null;
  container_id: string | null;
  port: number | null;
  health_path: string;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

const RELEASE_COLUMNS = `id, app_id, version, kind, git_sha, buildpack, image, config_json, status, slot,
  container_id, port, health_path, failure_reason, created_at, updated_at`;

/** Columns a ReleaseUpdate may set, mapped to their SQL names. */
const UPDATABLE: Record<keyof ReleaseUpdate, string> = {
  buildpack: 'buildpack',
  image: 'image',
  slot: 'slot',
  containerId: 'container_id',
  port: 'port',
  healthPath: 'health_path',
  failureReason: 'failure_reason',
};

function toApp(row: AppRow): App {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    appId: row.app_id,
    version: row.version,
    kind: row.kind,
    gitSha: row.git_sha,
    buildpack: row.buildpack,
    image: row.image,
    config: JSON.parse(row.config_json) as Record<string, string>,
    status: row.status,
    slot: row.slot,
    containerId: row.container_id,
    port: row.port,
    healthPath: row.health_path,
    failureReason: row.failure_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function createAppStore(db: SqliteDatabase): AppStore {
  return {
    findByName(name) {
      const row = db.prepare('SELECT id, name, created_at FROM apps WHERE name = ?').get(name) as AppRow | undefined;
      return row && toApp(row);
    },
    create(name) {
      const row = db
        .prepare('INSERT INTO apps (name) VALUES (?) RETURNING id, name, created_at')
        .get(name) as AppRow;
      return toApp(row);
    },
    list() {
      return (db.prepare('SELECT id, name, created_at FROM apps ORDER BY name').all() as AppRow[]).map(toApp);
    },
  };
}

export function createReleaseStore(db: SqliteDatabase): ReleaseStore {
  const selectById = db.prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE id = ?`);
  const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

  function update(id: number, changes: ReleaseUpdate, status?: ReleaseStatus): void {
    const sets: string[] = [`updated_at = ${now}`];
    const values: unknown[] = [];
    for (const [key, column] of Object.entries(UPDATABLE) as [keyof ReleaseUpdate, string][]) {
      if (changes[key] === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(changes[key]);
    }
    if (status) {
      sets.push('status = ?');
      values.push(status);
    }
    db.prepare(`UPDATE releases SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  return {
    create(release: NewRelease) {
      // The version is computed inside the insert so two releases never share a number.
      const row = db
        .prepare(
          `INSERT INTO releases (app_id, version, kind, git_sha, config_json, status)
           VALUES (?, (SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app_id = ?), ?, ?, ?, 'building')
           RETURNING ${RELEASE_COLUMNS}`,
        )
        .get(release.appId, release.appId, release.kind, release.gitSha, JSON.stringify(release.config)) as ReleaseRow;
      return toRelease(row);
    },
    get(id) {
      const row = selectById.get(id) as ReleaseRow | undefined;
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
    list(appId) {
      return (
        db.prepare(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE app_id = ? ORDER BY version DESC`).all(appId) as ReleaseRow[]
      ).map(toRelease);
    },
    update(id, changes) {
      update(id, changes);
    },
    transition(id, status, changes = {}) {
      update(id, changes, status);
    },
    promote: db.transaction((id: number) => {
      const release = selectById.get(id) as ReleaseRow | undefined;
      if (!release) throw new Error(`release ${id} does not exist`);
      db.prepare(`UPDATE releases SET status = 'retired', updated_at = ${now} WHERE app_id = ? AND status = 'live'`).run(
        release.app_id,
      );
      db.prepare(`UPDATE releases SET status = 'live', updated_at = ${now} WHERE id = ?`).run(id);
    }),
    appendLog(id, text) {
      db.prepare('UPDATE releases SET log = log || ? WHERE id = ?').run(text, id);
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
  };
}

export function createDomainStore(db: SqliteDatabase): DomainStore {
  return {
    listForApp(appId) {
      return (db.prepare('SELECT hostname FROM domains WHERE app_id = ? ORDER BY hostname').all(appId) as { hostname: string }[]).map(
        (row) => row.hostname,
      );
    },
  };
}

export function createTokenStore(db: SqliteDatabase): TokenStore {
  return {
    ensureAdminToken(name, hash, prefix) {
      db.prepare(`INSERT INTO tokens (name, prefix, hash, scope) VALUES (?, ?, ?, 'admin') ON CONFLICT (hash) DO NOTHING`).run(
        name,
        prefix,
        hash,
      );
    },
    findByHash(hash) {
      const row = db
        .prepare(`SELECT id, scope, app_id FROM tokens WHERE hash = ? AND revoked_at IS NULL`)
        .get(hash) as { id: number; scope: 'admin' | 'app'; app_id: number | null } | undefined;
      return row && { id: row.id, scope: row.scope, appId: row.app_id };
    },
    touch(id) {
      db.prepare(`UPDATE tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(id);
    },
    count() {
      return (db.prepare('SELECT COUNT(*) AS n FROM tokens WHERE revoked_at IS NULL').get() as { n: number }).n;
    },
  };
}
