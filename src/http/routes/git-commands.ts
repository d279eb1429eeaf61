import type { Readable } from 'node:stream';

/** Most bytes the command list of a push may take (a line per ref, ~100 bytes each). */
const COMMAND_LIST_LIMIT = 256 * 1024;

/**
 * Reads the command list at the head of a git-receive-pack request (pkt-lines up to the
 * flush packet) and leaves the stream paused with those bytes put back, for git to read.
 * Resolves with the refs the push updates.
 */
export async function peekPushedRefs(stream: Readable): Promise<PushCommands | undefined> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const finish = (): void => {
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('error', reject);
      stream.pause();
      const buffered = Buffer.concat(chunks);
      // Put back at once, in the same tick: a small body that ended could otherwise be gone.
      if (!stream.readableEnded) stream.unshift(buffered);
      resolve(buffered);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const buffered = Buffer.concat(chunks);
      if (parseCommandList(buffered) !== undefined || buffered.length > COMMAND_LIST_LIMIT) finish();
    };
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('error', reject);
  });
  // Undefined: no complete command list within the limit (refused by the caller).
  return parseCommandList(head);
}

export interface PushCommands {
  readonly refs: string[];
  /** What the client asked for on the first line (report-status, side-band-64k...). */
  readonly capabilities: string[];
}

/** `old new ref` pkt-lines until the flush packet; undefined while the list is incomplete. */
export function parseCommandList(buffer: Buffer): PushCommands | undefined {
  const refs: string[] = [];
  let capabilities: string[] = [];
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const length = Number.parseInt(buffer.toString('latin1', offset, offset + 4), 16);
    if (Number.isNaN(length) || length === 0) return { refs, capabilities };
    if (length < 4 || offset + length > buffer.length) return undefined;
    const [command = '', requested] = buffer.toString('utf8', offset + 4, offset + length).split('\0');
    if (refs.length === 0 && requested) capabilities = requested.trim().split(' ');
    const ref = command.trim().split(' ')[2];
    if (ref) refs.push(ref);
    offset += length;
  }
  return undefined;
}

function pktLine(payload: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, '0')), bytes]);
}

/**
 * A receive-pack answer that refuses every ref with `reason`, as git itself reports a
 * refusal: the pusher reads `remote: <message>` and `! [remote rejected] ... (<reason>)`.
 */
export function refusalReport(commands: PushCommands, message: string, reason: string): Buffer {
  const report = Buffer.concat([pktLine('unpack ok\n'), ...commands.refs.map((ref) => pktLine(`ng ${ref} ${reason}\n`)), Buffer.from('0000')]);
  if (!commands.capabilities.includes('side-band-64k') && !commands.capabilities.includes('side-band')) return report;
  const band = (channel: number, payload: Buffer | string) => pktLine(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(payload) ? payload : Buffer.from(payload)]));
  return Buffer.concat([band(2, `${message}\n`), band(1, report), Buffer.from('0000')]);
}
