import WebSocket from 'ws';
import type { ApiClient } from './client.js';
import { CliError } from './errors.js';

/**
 * Runs a command in a one-off container over the API's WebSocket: its output goes to ours,
 * our stdin goes to it: from a terminal in raw mode (window size followed), or piped until
 * it ends. Resolves with the command's exit code.
 */
export function runCommand(client: ApiClient, app: string, command: readonly string[]): Promise<number> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(client.socketUrl(`/apps/${encodeURIComponent(app)}/run`), { headers: { authorization: `Bearer ${client.token}` } });
    let exitCode: number | undefined;
    let failure: string | undefined;
    const send = (message: object): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    const restore = (): void => {
      if (tty) {
        process.stdin.setRawMode(false);
        process.stdin.pause();
      } else {
        // A pipe still open (a caller that never closes it) must not keep us running.
        process.stdin.destroy();
      }
    };
    const forwardInput = (): void => {
      if (tty) process.stdin.setRawMode(true);
      process.stdin.on('data', (chunk: Buffer) => send({ stdin: chunk.toString('base64') }));
      process.stdin.on('end', () => send({ eof: true }));
      process.stdin.resume();
      if (tty) process.stdout.on('resize', () => send({ resize: { columns: process.stdout.columns, rows: process.stdout.rows } }));
    };
    socket.on('open', () => {
      send({ command, tty, pipedStdin: !tty, columns: process.stdout.columns, rows: process.stdout.rows });
    });
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { started?: boolean; stream?: 'stdout' | 'stderr'; data?: string; exit?: number; error?: string };
      if (message.started) forwardInput();
      if (message.stream && message.data !== undefined) (message.stream === 'stderr' ? process.stderr : process.stdout).write(Buffer.from(message.data, 'base64'));
      if (message.exit !== undefined) exitCode = message.exit;
      if (message.error) failure = message.error;
    });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        try {
          failure = (JSON.parse(body) as { message?: string }).message;
        } catch {
          failure = `HTTP ${response.statusCode}`;
        }
        restore();
        reject(new CliError(failure ?? `HTTP ${response.statusCode}`));
      });
    });
    socket.on('error', (error) => {
      restore();
      reject(new CliError(`cannot run the command: ${error.message}`));
    });
    socket.on('close', () => {
      restore();
      if (exitCode !== undefined) resolve(exitCode);
      else reject(new CliError(failure ?? 'the connection closed before the command finished'));
    });
  });
}
