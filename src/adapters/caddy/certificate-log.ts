import fs from 'node:fs';

/** What Caddy's log says happened to a host's certificate. */
export type CertificateOutcome = { readonly host: string; readonly outcome: 'issued' } | { readonly host: string; readonly outcome: 'failed'; readonly error: string };

/** certmagic's messages (Caddy 2.6 to 2.8) when it has a certificate for a name. */
const ISSUED_MESSAGES = new Set(['certificate obtained successfully', 'certificate renewed successfully']);

/**
 * Reads one line of Caddy's JSON log: a certificate obtained (or renewed) for `identifier`, or
 * an error of the TLS loggers (`tls.obtain`, `tls.issuance.acme`, `tls.on_demand`...) about
 * one name: its `identifier`, or the `[name] Obtain: ...` prefix certmagic gives its retries.
 * Anything else is undefined.
 */
export function certificateOutcome(line: string): CertificateOutcome | undefined {
  if (!line.includes('"tls')) return undefined;
  let entry: { level?: unknown; logger?: unknown; msg?: unknown; identifier?: unknown; error?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return undefined;
  }
  if (typeof entry.logger !== 'string' || !entry.logger.startsWith('tls')) return undefined;
  const message = typeof entry.msg === 'string' ? entry.msg : '';
  if (ISSUED_MESSAGES.has(message) && typeof entry.identifier === 'string') return { host: entry.identifier, outcome: 'issued' };
  if (entry.level !== 'error' || typeof entry.error !== 'string') return undefined;
  const host = typeof entry.identifier === 'string' ? entry.identifier : /^\[([^\]\s]+)\]/.exec(entry.error)?.[1];
  return host === undefined ? undefined : { host, outcome: 'failed', error: `${message}: ${entry.error}` };
}

/** The most read at one tick: a log that grew by more is read over the next ticks. */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * Follows a log file from its current end, as `tail -f` does: every `intervalMs` it reads what
 * was appended and hands each complete line to `onLine`; a file that shrank (rotated, truncated)
 * is read again from its start. Returns the stop.
 */
export function followLog(file: string, onLine: (line: string) => void, intervalMs: number): () => void {
  let offset = sizeOf(file);
  let partial = '';
  const read = (): void => {
    const size = sizeOf(file);
    if (size < offset) offset = 0;
    if (size === offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size - offset, MAX_READ_BYTES));
      const bytes = fs.readSync(fd, buffer, 0, buffer.length, offset);
      offset += bytes;
      const lines = (partial + buffer.subarray(0, bytes).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line !== '') onLine(line);
    } finally {
      fs.closeSync(fd);
    }
  };
  const timer = setInterval(() => {
    try {
      read();
    } catch {
      // Gone for now (Caddy restarting): read again at the next tick.
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
