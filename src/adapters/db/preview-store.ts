import type { SqliteDatabase } from './database.js';
import type { PreviewStore } from '../../domain/ports.js';
import { DISABLED_PREVIEWS } from '../../domain/previews.js';

interface PreviewRow {
  app_id: number;
  name: string;
  parent_id: number;
  branch: string;
  created_at: string;
}

export function createPreviewStore(db: SqliteDatabase): PreviewStore {
  return {
    settings(parentId) {
      const row = db.prepare('SELECT enabled, pattern, max_previews FROM preview_settings WHERE app_id = ?').get(parentId) as
        | { enabled: number; pattern: string | null; max_previews: number }
        | undefined;
      return row ? { enabled: row.enabled === 1, pattern: row.pattern, maxPreviews: row.max_previews } : DISABLED_PREVIEWS;
    },
    saveSettings(parentId, settings) {
      db.prepare(
        `INSERT INTO preview_settings (app_id, enabled, pattern, max_previews) VALUES (?, ?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET enabled = excluded.enabled, pattern = excluded.pattern, max_previews = excluded.max_previews`,
      ).run(parentId, settings.enabled ? 1 : 0, settings.pattern, settings.maxPreviews);
    },
    overrides(parentId) {
      const rows = db.prepare('SELECT key, value FROM preview_config WHERE app_id = ? ORDER BY key').all(parentId) as { key: string; value: string }[];
      return Object.fromEntries(rows.map((row) => [row.key, row.value]));
    },
    changeOverrides: db.transaction((parentId: number, changes: Readonly<Record<string, string | null>>) => {
      const upsert = db.prepare('INSERT INTO preview_config (app_id, key, value) VALUES (?, ?, ?) ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value');
      const remove = db.prepare('DELETE FROM preview_config WHERE app_id = ? AND key = ?');
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) remove.run(parentId, key);
        else upsert.run(parentId, key, value);
      }
    }),
    list(parentId) {
      const rows = db
        .prepare('SELECT previews.app_id, apps.name, parent_id, branch, previews.created_at FROM previews JOIN apps ON apps.id = previews.app_id WHERE parent_id = ? ORDER BY previews.app_id')
        .all(parentId) as PreviewRow[];
      return rows.map((row) => ({ appId: row.app_id, name: row.name, parentId: row.parent_id, branch: row.branch, createdAt: row.created_at }));
    },
    parentOf(appId) {
      const row = db.prepare('SELECT parent_id FROM previews WHERE app_id = ?').get(appId) as { parent_id: number } | undefined;
      return row?.parent_id;
    },
    add(preview) {
      db.prepare('INSERT INTO previews (app_id, parent_id, branch) VALUES (?, ?, ?)').run(preview.appId, preview.parentId, preview.branch);
    },
  };
}
