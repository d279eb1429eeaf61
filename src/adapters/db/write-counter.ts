import { randomBytes } from 'node:crypto';
import type { SqliteDatabase } from './database.js';

/** The tables the apps listing (`AppService.list`) shows rows of: apps, their live release, domains, scale. */
export const LISTED_TABLES = ['apps', 'releases', 'domains', 'formation'] as const;

/**
 * Counts every row written to `tables` on this connection (Pilot's only one), whichever store or
 * statement wrote it, cascades included: what was built from those rows is stale once the count
 * moved. Temporary triggers (this connection's, no schema change) call back into this process;
 * a write rolled back still counts, which only rebuilds once more.
 */
export function countWrites(db: SqliteDatabase, tables: readonly string[]): () => number {
  let writes = 0;
  // One function per counter, so that two counters on one connection do not share triggers.
  const counter = `pilot_count_writes_${randomBytes(6).toString('hex')}`;
  db.function(counter, { deterministic: false }, () => {
    writes += 1;
    return null;
  });
  for (const table of tables) {
    for (const operation of ['INSERT', 'UPDATE', 'DELETE']) {
      db.exec(`CREATE TEMP TRIGGER ${counter}_${table}_${operation.toLowerCase()} AFTER ${operation} ON main.${table} BEGIN SELECT ${counter}(); END`);
    }
  }
  return () => writes;
}

