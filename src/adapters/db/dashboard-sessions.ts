import type { SqliteDatabase } from './database.js';
import type { DashboardSessionStore, TokenScope } from '../../domain/ports.js';

interface SessionRow {
  token_id: number;
  name: string;
  scope: TokenScope;
  app_id: number | null;
  csrf_secret: string;
  expires_at: string;
}

/** Sessions joined with their token at every read: revoking the token ends them, with nothing to clean first. */
export function createDashboardSessionStore(db: SqliteDatabase): DashboardSessionStore {
  return {
    create(session) {
      db.prepare('INSERT INTO dashboard_sessions (id_hash, token_id, csrf_secret, expires_at) VALUES (?, ?, ?, ?)').run(
        session.idHash, session.tokenId, session.csrfSecret, session.expiresAt,
      );
    },
    find(idHash, now) {
      const row = db
        .prepare(
          `SELECT s.token_id, t.name, t.scope, t.app_id, s.csrf_secret, s.expires_at FROM dashboard_sessions s JOIN tokens t ON t.id = s.token_id
           WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL`,
        )
        .get(idHash, now) as SessionRow | undefined;
      return row && { tokenId: row.token_id, name: row.name, scope: row.scope, appId: row.app_id, csrfSecret: row.csrf_secret, expiresAt: row.expires_at };
    },
    remove(idHash) {
      db.prepare('DELETE FROM dashboard_sessions WHERE id_hash = ?').run(idHash);
    },
    removeStale(now) {
      db.prepare('DELETE FROM dashboard_sessions WHERE expires_at <= ? OR token_id IN (SELECT id FROM tokens WHERE revoked_at IS NOT NULL)').run(now);
    },
  };
}
