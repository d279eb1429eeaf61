/**
 * Numbered migrations, applied in order at start, each in a transaction.
 * PRAGMA user_version records the last one applied. Never edit a landed migration: add one.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'apps, releases, config vars, domains, tokens',
    sql: `
      CREATE TABLE apps (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );

      CREATE TABLE releases (
        id              INTEGER PRIMARY KEY,
        app_id          INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version         INTEGER NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('deploy', 'config', 'rollback')),
        git_sha         TEXT,
        buildpack       TEXT CHECK (buildpack IN ('dockerfile', 'node', 'static')),
        image           TEXT,
        config_json     TEXT NOT NULL DEFAULT '{}',
        status          TEXT NOT NULL CHECK (status IN ('building', 'starting', 'checking', 'live', 'failed', 'retired')),
        slot            TEXT CHECK (slot IN ('blue', 'green')),
        container_id    TEXT,
        port            INTEGER,
        health_path     TEXT NOT NULL DEFAULT '/',
        failure_reason  TEXT,
        log             TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (app_id, version)
      );
      CREATE UNIQUE INDEX releases_one_live_per_app ON releases(app_id) WHERE status = 'live';

      CREATE TABLE config_vars (
        app_id  INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (app_id, key)
      );

      CREATE TABLE domains (
        id          INTEGER PRIMARY KEY,
        app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        hostname    TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );

      CREATE TABLE tokens (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        prefix        TEXT NOT NULL,
        hash          TEXT NOT NULL UNIQUE,
        scope         TEXT NOT NULL CHECK (scope IN ('admin', 'app')),
        app_id        INTEGER REFERENCES apps(id) ON DELETE CASCADE,
        created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        last_used_at  TEXT,
        revoked_at    TEXT,
        CHECK ((scope = 'app') = (app_id IS NOT NULL))
      );
    `,
  },
  {
    version: 2,
    name: 'process types, release command, formation, volumes',
    sql: `
      ALTER TABLE releases ADD COLUMN processes_json TEXT NOT NULL DEFAULT '{"web":null}';
      ALTER TABLE releases ADD COLUMN release_command TEXT;

      CREATE TABLE formation (
        app_id        INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        process_type  TEXT NOT NULL,
        quantity      INTEGER NOT NULL CHECK (quantity BETWEEN 0 AND 20),
        PRIMARY KEY (app_id, process_type)
      );

      CREATE TABLE volumes (
        id          INTEGER PRIMARY KEY,
        app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        path        TEXT NOT NULL,
        name        TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (app_id, path)
      );
    `,
  },
  {
    version: 3,
    name: 'per-app memory and CPU limits',
    sql: `
      ALTER TABLE apps ADD COLUMN memory_bytes INTEGER CHECK (memory_bytes IS NULL OR memory_bytes > 0);
      ALTER TABLE apps ADD COLUMN cpus REAL CHECK (cpus IS NULL OR cpus > 0);
    `,
  },
  {
    version: 4,
    name: 'build vars: config vars builds see too, and which ones each release was built with',
    sql: `
      ALTER TABLE config_vars ADD COLUMN build INTEGER NOT NULL DEFAULT 0 CHECK (build IN (0, 1));
      ALTER TABLE releases ADD COLUMN build_keys_json TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 5,
    name: "the app's directory in its repository (build-dir, for monorepos)",
    sql: `
      ALTER TABLE apps ADD COLUMN build_dir TEXT CHECK (build_dir IS NULL OR build_dir <> '');
    `,
  },
  {
    version: 6,
    name: 'app.json: health checks with their settings, formation, deploy scripts',
    sql: `
      ALTER TABLE releases ADD COLUMN health_checks_json TEXT NOT NULL DEFAULT '[{"path":"/"}]';
      UPDATE releases SET health_checks_json = json_array(json_object('path', health_path));
      ALTER TABLE releases DROP COLUMN health_path;
      ALTER TABLE releases ADD COLUMN formation_json TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE releases ADD COLUMN scripts_json TEXT NOT NULL DEFAULT '{"predeploy":null,"postdeploy":null,"firstDeploy":null}';
    `,
  },
  {
    version: 7,
    name: 'app.json cron entries of a release, and their runs',
    sql: `
      ALTER TABLE releases ADD COLUMN cron_json TEXT NOT NULL DEFAULT '[]';

      CREATE TABLE cron_runs (
        id               INTEGER PRIMARY KEY,
        app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        entry_id         TEXT NOT NULL,
        command          TEXT NOT NULL,
        release_version  INTEGER NOT NULL,
        scheduled_at     TEXT NOT NULL,
        started_at       TEXT,
        finished_at      TEXT,
        status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'interrupted')),
        exit_code        INTEGER,
        output           TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX cron_runs_by_entry ON cron_runs(app_id, entry_id, id);
    `,
  },  {
    version: 9,
    name: 'what a release did, for people ("Deploy abc1234", "Set GREETING", "Rollback to v2")',
    sql: `
      ALTER TABLE releases ADD COLUMN description TEXT;
    `,
  },
  {
    version: 10,
    name: 'app isolation: capabilities added back per app, links between apps',
    sql: `
      ALTER TABLE apps ADD COLUMN cap_add_json TEXT NOT NULL DEFAULT '[]';

      CREATE TABLE app_links (
        app_id         INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        linked_app_id  INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        PRIMARY KEY (app_id, linked_app_id),
        CHECK (app_id <> linked_app_id)
      );
      CREATE INDEX app_links_by_linked ON app_links(linked_app_id);
    `,
  },
  {
    version: 11,
    name: 'events: the timeline of each app and of the server',
    sql: `
      CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        app_id      INTEGER REFERENCES apps(id) ON DELETE CASCADE,
        app         TEXT,
        kind        TEXT NOT NULL,
        message     TEXT NOT NULL,
        release     INTEGER,
        process     TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
      CREATE INDEX events_by_app ON events(app_id, id);
    `,
  },
  {
    version: 12,
    name: 'webhooks: server-wide and per app, for chosen event kinds; how long an app watches a new release',
    sql: `
      ALTER TABLE apps ADD COLUMN watch_seconds INTEGER;

      CREATE TABLE webhooks (
        id          INTEGER PRIMARY KEY,
        app_id      INTEGER REFERENCES apps(id) ON DELETE CASCADE,
        url         TEXT NOT NULL,
        kinds_json  TEXT NOT NULL DEFAULT '[]',
        secret      TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
    `,
  },
  {
    version: 15,
    name: "each release's source: a git commit, an uploaded archive's digest or an image",
    sql: `
      ALTER TABLE releases ADD COLUMN source TEXT;
      UPDATE releases SET source = 'git ' || git_sha WHERE git_sha IS NOT NULL;
    `,
  },
  {
    version: 16,
    name: 'maintenance mode per app',
    sql: `
      ALTER TABLE apps ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 17,
    name: "an app's repository URL: the server fetches its branch (on git:sync or a push webhook) and deploys it",
    sql: `
      CREATE TABLE repo_sources (
        app_id           INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
        url              TEXT NOT NULL,
        branch           TEXT NOT NULL,
        credential       TEXT,
        webhook_secret   TEXT NOT NULL,
        last_sha         TEXT,
        last_fetched_at  TEXT,
        last_error       TEXT,
        created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
    `,
  },
  {
    version: 18,
    name: 'preview apps: per-app settings and config overrides, and which app previews which branch',
    sql: `
      CREATE TABLE preview_settings (
        app_id        INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
        enabled       INTEGER NOT NULL DEFAULT 0,
        pattern       TEXT,
        max_previews  INTEGER NOT NULL
      );
      CREATE TABLE preview_config (
        app_id  INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (app_id, key)
      );
      CREATE TABLE previews (
        app_id      INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
        parent_id   INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        branch      TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (parent_id, branch)
      );
    `,
  },
  {
    version: 19,
    name: "the names renamed apps had: their URL answers a 404 page, a push to them is refused with the new name",
    sql: `
      CREATE TABLE app_former_names (
        name        TEXT PRIMARY KEY,
        app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        renamed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
    `,
  },
  {
    version: 20,
    name: "the dashboard's sign-in sessions, each of one token (a revoked token's sessions stop at once)",
    sql: `
      CREATE TABLE dashboard_sessions (
        id_hash     TEXT PRIMARY KEY,
        token_id    INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
        csrf_secret TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        expires_at  TEXT NOT NULL
      );
      CREATE INDEX dashboard_sessions_by_token ON dashboard_sessions(token_id);
    `,
  },
  {
    version: 21,
    name: 'who made each release: the token (its id; deleted, it leaves its label), a push webhook, or Pilot itself',
    sql: `
      ALTER TABLE releases ADD COLUMN made_by_kind TEXT CHECK (made_by_kind IN ('token', 'webhook', 'pilot', 'unknown'));
      ALTER TABLE releases ADD COLUMN made_by_token_id INTEGER REFERENCES tokens(id) ON DELETE SET NULL;
      ALTER TABLE releases ADD COLUMN made_by_label TEXT;
    `,
  },
];
