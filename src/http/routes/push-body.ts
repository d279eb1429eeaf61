import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ByteLimit } from '../../adapters/byte-limit.js';
import type { IncomingMessage } from 'node:http';

export class PushTooLarge extends Error {}

/**
 * Spools the rest of a push (the pack) to a temporary file, counting its bytes, before git
 * reads any of it: an oversized push is refused with a message, never half-read by git.
 * Resolves with a request git can read (the peeked head, then the spooled pack); the file
 * is removed once read.
 */
export async function spoolPush(request: IncomingMessage, maxBytes: number, spoolDir: string): Promise<IncomingMessage> {
  // Under the data directory: /tmp is often a small tmpfs, and packs can be large.
  await fs.promises.mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const dir = await fs.promises.mkdtemp(path.join(spoolDir, 'push-'));
  const file = path.join(dir, 'pack');
  try {
    await spoolToFile(request, file, maxBytes);
  } catch (error) {
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw error;
  }
  const body = new PassThrough();
  const spooled = fs.createReadStream(file);
  spooled.on('close', () => void fs.promises.rm(dir, { recursive: true, force: true }));
  spooled.pipe(body);
  // node-git-server reads only these of a request, and pipes it.
  return Object.assign(body as unknown as Readable, {
    url: request.url,
    method: request.method,
    headers: request.headers,
  }) as unknown as IncomingMessage;
}

/**
 * Copies the request to the file until it ends or passes maxBytes (then PushTooLarge). Not stream.pipeline: it
 * would destroy the request, and with it the connection the refusal must go back on; past
 * the limit the rest is read and dropped instead.
 */
export function spoolToFile(request: IncomingMessage, file: string, maxBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const limit = new ByteLimit(maxBytes, () => new PushTooLarge(`the push is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`));
    const out = fs.createWriteStream(file);
    const abandon = (error: Error, drain: boolean): void => {
      request.unpipe(limit);
      if (drain) request.resume();
      limit.destroy();
      out.destroy();
      reject(error);
    };
    limit.on('error', (error) => abandon(error, true));
    // The client went away mid-push: close the file, free the space.
    request.on('error', (error) => abandon(error, false));
    request.on('close', () => {
      if (!request.complete) abandon(new Error('the client closed the connection mid-push'), false);
    });
    out.on('error', (error) => abandon(error, true));
    out.on('finish', () => resolve());
    if (request.destroyed) return abandon(new Error('the client closed the connection mid-push'), false);
    request.pipe(limit).pipe(out);
  });
}

/**
 * The request as node-git-server reads it (url, method, headers, a body to pipe), with its
 * errors handled here: node-git-server has no listener for them, and an aborted request
 * would otherwise throw and stop Pilot.
 */
export function ownedBody(request: IncomingMessage): IncomingMessage {
  const body = new PassThrough();
  request.on('error', () => body.end());
  request.on('close', () => {
    if (!request.complete) body.end();
  });
  request.pipe(body);
  return Object.assign(body as unknown as Readable, { url: request.url, method: request.method, headers: request.headers }) as unknown as IncomingMessage;
}
