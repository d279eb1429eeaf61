/**
 * Router lines: Caddy's access log entries of an app (JSON, one per request, written by the
 * app's site block to the app's own file), as Heroku's router prints them in `heroku logs`.
 */

/** Where a reader of an app's access log stands: the file (its inode) and the bytes read of it. */
export interface AccessLogCursor {
  readonly inode: number;
  readonly offset: number;
}

/** The app's access log as Caddy writes it (`adapters/caddy/access-log.ts`), as raw JSON lines. */
export interface RouterLogSource {
  /** The last `lines` entries, oldest first (the rolled-over file too, when the current one has fewer). */
  last(appId: number, lines: number): Promise<string[]>;
  /** The entries written after `cursor` (from now when undefined, with none), and the cursor after them. */
  after(appId: number, cursor: AccessLogCursor | undefined): Promise<{ entries: string[]; cursor: AccessLogCursor }>;
  /** The app is gone: so are its access logs. */
  remove(appId: number): void;
}

/** The process name router lines carry (`pilot logs --ps router`). */
export const ROUTER_PROCESS = 'router';

interface AccessEntry {
  readonly ts?: unknown;
  readonly request?: { readonly method?: unknown; readonly uri?: unknown; readonly host?: unknown; readonly remote_ip?: unknown; readonly client_ip?: unknown; readonly proto?: unknown };
  readonly status?: unknown;
  readonly size?: unknown;
  readonly duration?: unknown;
}

/** A word as it is when it is plain, else quoted with its control characters escaped (visitors choose paths and hosts). */
function field(value: unknown): string {
  const text = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  return /^[A-Za-z0-9._:/-]+$/.test(text) ? text : JSON.stringify(text);
}

/**
 * One access log entry as a router line: `method=GET path="/" host=shop.example.com status=200
 * bytes=123 duration=4ms client=1.2.3.4 protocol=HTTP/2.0`, at the time Caddy logged it (the
 * response's end); undefined for a line that is not an entry (cut short, another logger's).
 */
export function routerLine(json: string): { at: bigint; text: string } | undefined {
  let entry: AccessEntry;
  try {
    entry = JSON.parse(json) as AccessEntry;
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.ts !== 'number' || typeof entry.request !== 'object' || entry.request === null) return undefined;
  const { request } = entry;
  const host = typeof request.host === 'string' ? request.host.replace(/:\d+$/, '') : '';
  const duration = typeof entry.duration === 'number' ? `${Math.round(entry.duration * 1000)}ms` : '-';
  const text = [
    `method=${field(request.method)}`,
    `path=${JSON.stringify(typeof request.uri === 'string' ? request.uri : '')}`,
    `host=${field(host)}`,
    `status=${field(entry.status)}`,
    `bytes=${field(entry.size)}`,
    `duration=${duration}`,
    `client=${field(request.client_ip ?? request.remote_ip)}`,
    `protocol=${field(request.proto)}`,
  ].join(' ');
  // Seconds with microseconds (a float64 holds no more at this size).
  return { at: BigInt(Math.round(entry.ts * 1_000_000)) * 1000n, text };
}
