import type { SqliteDatabase } from './database.js';
import type { RepoSourceStore } from '../../domain/ports.js';
import type { RepoSource } from '../../domain/types.js';

interface RepoSourceRow {
  app_id: number;
  url: string;
  branch: string;
  credential: string | null;
  webhook_secret: string;
  last_sha: string | null;
  last_fetched_at: string | null;
  last_error: string | null;
  created_at: string;
}

function sourceOf(row: RepoSourceRow): RepoSource {
  return {
    appId: row.app_id,
    url: row.url,
    branch: row.branch,
    credential: row.credential,
    webhookSecret: row.webhook_secret,
    lastSha: row.last_sha,
    lastFetchedAt: row.last_fetched_at,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

export function createRepoSourceStore(db: SqliteDatabase): RepoSourceStore {
  const get = db.prepare('SELECT * FROM repo_sources WHERE app_id = ?');
  // A changed URL or branch: what the last fetch found was of the other one.
  const put = db.prepare(`
    INSERT INTO repo_sources (app_id, url, branch, credential, webhook_secret) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (app_id) DO UPDATE SET
      last_sha = CASE WHEN url = excluded.url AND branch = excluded.branch THEN last_sha END,
      last_fetched_at = CASE WHEN url = excluded.url AND branch = excluded.branch THEN last_fetched_at END,
      last_error = NULL,
      url = excluded.url, branch = excluded.branch, credential = excluded.credential
    RETURNING *`);
  const remove = db.prepare('DELETE FROM repo_sources WHERE app_id = ?');
  const setSecret = db.prepare('UPDATE repo_sources SET webhook_secret = ? WHERE app_id = ?');
  const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
  const fetched = db.prepare(`UPDATE repo_sources SET last_sha = ?, last_fetched_at = ${now}, last_error = NULL WHERE app_id = ?`);
  const failed = db.prepare(`UPDATE repo_sources SET last_error = ?, last_fetched_at = ${now} WHERE app_id = ?`);
  return {
    get(appId) {
      const row = get.get(appId) as RepoSourceRow | undefined;
      return row ? sourceOf(row) : undefined;
    },
    put(appId, source, webhookSecret) {
      return sourceOf(put.get(appId, source.url, source.branch, source.credential, webhookSecret) as RepoSourceRow);
    },
    remove(appId) {
      return remove.run(appId).changes > 0;
    },
    setWebhookSecret(appId, secret) {
      setSecret.run(secret, appId);
    },
    recordFetch(appId, result) {
      if ('sha' in result) fetched.run(result.sha, appId);
      else failed.run(result.error, appId);
    },
  };
}
