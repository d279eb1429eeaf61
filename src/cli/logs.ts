import WebSocket from 'ws';
import type { ApiClient } from './client.js';
import { CliError } from './errors.js';
import type { LogLine } from '../domain/shapes.js';

export type { LogLine };

/**
 * Follows an app's log over the API's WebSocket until interrupted. A socket that drops (a
 * Caddy reload, a restart of Pilot) is reopened with ?after=<last time seen>, so no line is
 * lost or shown twice.
 */
export function followLogs(client: ApiClient, app: string, tail: number, onLine: (line: LogLine) => void, signal: AbortSignal): Promise<void> {
  const path = (after: string | undefined) => `/apps/${encodeURIComponent(app)}/logs/stream?${after ? `after=${encodeURIComponent(after)}` : `lines=${tail}`}`;
  return followSocket<LogLine>(client, path, (line) => line.time, onLine, signal);
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
