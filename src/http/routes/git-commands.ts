import type { Readable } from 'node:stream';

/** Most bytes the command list of a push may take (a line per ref, ~100 bytes each). */
const COMMAND_LIST_LIMIT = 256 * 1024;

/**
 * Reads the command list at the head of a git-receive-pack request (pkt-lines up to the
 * flush packet) and leaves the stream paused with those bytes put back, for git to read.
 * Resolves with the refs the push updates.
 */
export async function peekPushedRefs(stream: Readable): Promise<PushCommands | undefined> {
  const head = await peekHead(stream, (buffered) => parseCommandList(buffered) !== undefined, COMMAND_LIST_LIMIT);
  // Undefined: no complete command list within the limit (refused by the caller).
  return parseCommandList(head);
}

/**
 * Whether a git-upload-pack request starts by asking for something (a `want` line), read
 * as peekPushedRefs reads a push. node-git-server waits for that line before it starts git,
 * so a request without one would hang until the client gave up.
 */
export async function peekFetchWants(stream: Readable): Promise<boolean> {
  const head = await peekHead(stream, (buffered) => firstPktLine(buffered) !== undefined, FIRST_LINE_LIMIT);
  return /^want [0-9a-f]{40}/.test(firstPktLine(head) ?? '');
}

/** The longest first line of a fetch: `want <sha>` and its capabilities. */
const FIRST_LINE_LIMIT = 64 * 1024;

/** The payload of the first pkt-line; undefined while incomplete, "" for a flush or a bad length. */
function firstPktLine(buffer: Buffer): string | undefined {
  if (buffer.length < 4) return undefined;
  const length = Number.parseInt(buffer.toString('latin1', 0, 4), 16);
  if (Number.isNaN(length) || length < 4) return '';
  if (length > buffer.length) return undefined;
  return buffer.toString('utf8', 4, length);
}

/**
 * Reads a stream until `complete(buffered)`, its end or `limit` bytes, then pauses it with
 * what was read put back, as if untouched.
 */
function peekHead(stream: Readable, complete: (buffered: Buffer) => boolean, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const finish = (): void => {
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('close', finish);
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
      if (complete(buffered) || buffered.length > limit) finish();
    };
    stream.on('data', onData);
    stream.once('end', finish);
    // A client that hangs up mid-request: what it sent is judged (and found incomplete).
    stream.once('close', finish);
    stream.once('error', reject);
  });
}

export interface PushCommands {
  readonly refs: string[];
  /** Each ref's update as the client asks for it (what the hook later reports the same way). */
  readonly updates: { readonly oldSha: string; readonly newSha: string; readonly ref: string }[];
  /** What the client asked for on the first line (report-status, side-band-64k...). */
  readonly capabilities: string[];
}

/** `old new ref` pkt-lines until the flush packet; undefined while the list is incomplete. */
export function parseCommandList(buffer: Buffer): PushCommands | undefined {
  const refs: string[] = [];
  const updates: PushCommands['updates'] = [];
  let capabilities: string[] = [];
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const length = Number.parseInt(buffer.toString('latin1', offset, offset + 4), 16);
    if (Number.isNaN(length) || length === 0) return { refs, updates, capabilities };
    if (length < 4 || offset + length > buffer.length) return undefined;
    const [command = '', requested] = buffer.toString('utf8', offset + 4, offset + length).split('\0');
    if (refs.length === 0 && requested) capabilities = requested.trim().split(' ');
    const [oldSha = '', newSha = '', ref] = command.trim().split(' ');
    if (ref) {
      refs.push(ref);
      updates.push({ oldSha, newSha, ref });
    }
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
export function refusalReport(commands: Pick<PushCommands, 'refs' | 'capabilities'>, message: string, reason: string): Buffer {
  const report = Buffer.concat([pktLine('unpack ok\n'), ...commands.refs.map((ref) => pktLine(`ng ${ref} ${reason}\n`)), Buffer.from('0000')]);
  if (!commands.capabilities.includes('side-band-64k') && !commands.capabilities.includes('side-band')) return report;
  const band = (channel: number, payload: Buffer | string) => pktLine(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(payload) ? payload : Buffer.from(payload)]));
  return Buffer.concat([band(2, `${message}\n`), band(1, report), Buffer.from('0000')]);
}
