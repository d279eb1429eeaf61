import WebSocket from 'ws';
import type { ApiClient } from './client.js';
import { CliError } from './errors.js';
import type { LogLine } from '../domain/shapes.js';

export type { LogLine };

/** Which lines `pilot logs` asks for: how many recent ones, of which processes, from when. */
export interface LogRequest {
  readonly lines: number;
  readonly ps?: string;
  readonly since?: string;
}

/** The query of a log request (`lines`, `ps`, `since`), plus `after` when resuming. */
export function logQuery(request: LogRequest, after?: string): string {
  const query = new URLSearchParams();
  if (after) query.set('after', after);
  else query.set('lines', String(request.lines));
  if (request.ps) query.set('ps', request.ps);
  if (request.since && !after) query.set('since', request.since);
  return query.toString();
}

/**
 * Follows an app's log over the API's WebSocket until interrupted. A socket that drops (a
 * Caddy reload, a restart of Pilot) is reopened with ?after=<latest time seen> (Pilot's times
 * compare as strings), so no line is lost or shown twice.
 */
export function followLogs(client: ApiClient, app: string, request: LogRequest, onLine: (line: LogLine) => void, signal: AbortSignal): Promise<void> {
  // Lines of several processes may come a little out of order: resume after the latest seen.
  let latest: string | undefined;
  const cursorOf = (line: LogLine): string => (latest = latest === undefined || line.time > latest ? line.time : latest);
  return followSocket<LogLine>(client, (after) => `/apps/${encodeURIComponent(app)}/logs/stream?${logQuery(request, after)}`, cursorOf, onLine, signal);
}

/**
 * Follows a stream of JSON messages over the API's WebSocket until interrupted, reopening a
 * dropped socket at `path(cursor of the last message)` so nothing is lost or repeated.
 */
export async function followSocket<T>(
  client: ApiClient,
  path: (cursor: string | undefined) => string,
  cursorOf: (message: T) => string,
  onMessage: (message: T) => void,
  signal: AbortSignal,
): Promise<void> {
  let after: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    const outcome = await once<T>(client, path(after), signal, (message) => {
      after = cursorOf(message);
      failures = 0;
      onMessage(message);
    });
    if (outcome.fatal) throw new CliError(outcome.fatal);
    if (signal.aborted) return;
    failures += 1;
    // Back off a little when the server is away; resume as soon as it is back.
    await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(failures, 5), 5000)));
  }
}

function once<T>(client: ApiClient, path: string, signal: AbortSignal, onMessage: (message: T) => void): Promise<{ fatal?: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(client.socketUrl(path), { headers: { authorization: `Bearer ${client.token}` } });
    const abort = (): void => socket.close(1000);
    signal.addEventListener('abort', abort, { once: true });
    socket.on('message', (data) => onMessage(JSON.parse(data.toString()) as T));
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        let message = `HTTP ${status}`;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          // Not JSON: keep the status.
        }
        // 4xx will not get better by retrying; a 5xx or a proxy error might.
        resolve(status >= 400 && status < 500 ? { fatal: message } : {});
      });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      signal.removeEventListener('abort', abort);
      resolve({});
    });
  });
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `--since`: an RFC 3339 time as given, or a duration ago (`30s`, `10m`, `2h`, `1d`) from `now`. */
export function sinceTime(value: string, now: Date): string {
  const duration = /^(\d+)([smhd])$/.exec(value);
  if (duration?.[1] && duration[2]) return new Date(now.getTime() - Number(duration[1]) * (DURATION_UNITS[duration[2]] ?? 1) * 1000).toISOString();
  if (/^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new CliError(`--since ${value}: give a time (2026-12-01T10:00:00Z) or a duration ago (30s, 10m, 2h, 1d)`);
}
