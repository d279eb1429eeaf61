import fs from 'node:fs';
import path from 'node:path';
import { ACCESS_LOG_ROLL_MIB, accessLogFile, appOfAccessLogTag } from '../../pipeline/routes.js';
import type { AccessLogCursor, RouterLogSource } from '../../services/router-log.js';

/** How much one read takes of a file at most: a follower catches up over several reads. */
const MAX_READ_BYTES = 4 * 1024 * 1024;
const TAIL_CHUNK_BYTES = 64 * 1024;

/**
 * The access logs Caddy writes under `dir`, one per app (`app-<id>.log`, rolled over by Caddy
 * to `app-<id>-<time>.log`, one kept), read as JSON lines: the last ones, or those written since
 * a cursor (following the file across a roll-over, so no line is skipped). In swarm mode Pilot
 * writes them itself (`append`), the same way, from the output of Caddy's container.
 */
export class AccessLogFiles implements RouterLogSource {
  /** The size of each app's current file, as far as `append` wrote it. */
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly dir: string,
    private readonly rollBytes = ACCESS_LOG_ROLL_MIB * 1024 * 1024,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Adds an entry to the app's file, rolling it over first as Caddy does (renamed with the time, one old file kept). */
  append(appId: number, entry: string): void {
    const file = accessLogFile(this.dir, appId);
    const line = `${entry}\n`;
    let size = this.sizes.get(appId) ?? fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size > 0 && size + Buffer.byteLength(line) > this.rollBytes) {
      for (const older of this.rolledFiles(appId)) fs.rmSync(older, { force: true });
      fs.renameSync(file, path.join(this.dir, `app-${appId}-${new Date().toISOString().replace(/:/g, '-').replace(/Z$/, '')}.log`));
      size = 0;
    }
    fs.appendFileSync(file, line, { mode: 0o600 });
    this.sizes.set(appId, size + Buffer.byteLength(line));
  }

  async last(appId: number, lines: number): Promise<string[]> {
    const current = await lastLines(accessLogFile(this.dir, appId), lines);
    if (current.length >= lines) return current;
    const rolled = this.rolledFiles(appId).at(-1);
    const older = rolled ? await lastLines(rolled, lines - current.length) : [];
    return [...older, ...current];
  }

  async after(appId: number, cursor: AccessLogCursor | undefined): Promise<{ entries: string[]; cursor: AccessLogCursor }> {
    const file = accessLogFile(this.dir, appId);
    const stat = await fs.promises.stat(file).catch(() => undefined);
    const inode = stat?.ino ?? 0;
    if (cursor === undefined) return { entries: [], cursor: { inode, offset: stat?.size ?? 0 } };
    if (inode === cursor.inode) {
      // Shorter than what was read: the file was replaced in place; read it from its start.
      const offset = (stat?.size ?? 0) < cursor.offset ? 0 : cursor.offset;
      const read = await readLines(file, offset);
      return { entries: read.lines, cursor: { inode, offset: read.offset } };
    }
    // Rolled over: the rest of the file read so far (now the rolled one), then the new one.
    const rolled = this.rolledFiles(appId).find((candidate) => fs.statSync(candidate, { throwIfNoEntry: false })?.ino === cursor.inode);
    const rest = rolled ? (await readLines(rolled, cursor.offset)).lines : [];
    const read = stat ? await readLines(file, 0) : { lines: [], offset: 0 };
    return { entries: [...rest, ...read.lines], cursor: { inode, offset: read.offset } };
  }

  remove(appId: number): void {
    this.sizes.delete(appId);
    for (const file of [accessLogFile(this.dir, appId), ...this.rolledFiles(appId)]) fs.rmSync(file, { force: true });
  }

  /** The app's rolled-over files, oldest first (their names carry the time of the roll). */
  private rolledFiles(appId: number): string[] {
    const prefix = `app-${appId}-`;
    return fs.readdirSync(this.dir).filter((name) => name.startsWith(prefix) && name.endsWith('.log')).sort().map((name) => path.join(this.dir, name));
  }
}

/**
 * The app whose access log entry a line of Caddy's output is (an entry tagged by its site's
 * `log`, Caddyfile.tmpl in swarm mode), undefined for any other line.
 */
export function appOfAccessEntry(line: string): number | undefined {
  if (!line.includes('"http.log.access')) return undefined;
  try {
    const entry = JSON.parse(line) as { logger?: unknown; user_id?: unknown } | null;
    return typeof entry?.logger === 'string' && entry.logger.startsWith('http.log.access') ? appOfAccessLogTag(entry.user_id) : undefined;
  } catch {
    return undefined;
  }
}

/** The complete lines from `offset` on (a line Caddy is still writing waits for the next read), and where they end. */
async function readLines(file: string, offset: number): Promise<{ lines: string[]; offset: number }> {
  const handle = await fs.promises.open(file, 'r').catch(() => undefined);
  if (!handle) return { lines: [], offset };
  try {
    const { size } = await handle.stat();
    const length = Math.min(Math.max(size - offset, 0), MAX_READ_BYTES);
    if (length === 0) return { lines: [], offset };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
    const lines = buffer.subarray(0, end).toString('utf8').split('\n').filter((line) => line !== '');
    return { lines, offset: offset + end };
  } finally {
    await handle.close();
  }
}

/** The last `count` complete lines of a file, reading it backwards a chunk at a time. */
async function lastLines(file: string, count: number): Promise<string[]> {
  if (count <= 0) return [];
  const handle = await fs.promises.open(file, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    let start = size;
    let read = Buffer.alloc(0);
    // Bytes, not text, until the end: a chunk may cut a character in two.
    while (start > 0 && newlines(read) <= count && size - start < MAX_READ_BYTES) {
      const length = Math.min(TAIL_CHUNK_BYTES, start);
      start -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, start);
      read = Buffer.concat([chunk, read]);
    }
    const lines = read.toString('utf8').split('\n');
    // The first piece may be the end of a line begun before what was read; the last, one still being written.
    if (start > 0) lines.shift();
    lines.pop();
    return lines.filter((line) => line !== '').slice(-count);
  } finally {
    await handle.close();
  }
}

function newlines(buffer: Buffer): number {
  let count = 0;
  for (let at = buffer.indexOf(0x0a); at !== -1; at = buffer.indexOf(0x0a, at + 1)) count += 1;
  return count;
}
