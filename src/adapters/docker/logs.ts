import Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import readline from 'node:readline';
import type { LogStream, LogStreamOptions, TimestampedLine } from '../../domain/ports.js';

export async function streamLogs(
  docker: Docker,
  idOrName: string,
  options: LogStreamOptions,
  onLine: (line: TimestampedLine) => void,
): Promise<LogStream> {
  const container = docker.getContainer(idOrName);
  const info = await container.inspect();
  const query = {
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(options.sinceSeconds !== undefined ? { since: options.sinceSeconds } : {}),
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
  };
  // dockerode's typings want a number for `since`; the engine takes `seconds.nanoseconds`.
  const raw = options.follow
    ? await container.logs({ ...query, follow: true } as unknown as Docker.ContainerLogsOptions & { follow: true })
    : await container.logs({ ...query, follow: false } as unknown as Docker.ContainerLogsOptions & { follow?: false });
  return lineStream(docker, Buffer.isBuffer(raw) ? Readable.from([raw]) : raw, info.Config.Tty, onLine);
}

/**
 * A Swarm task's logs, which the manager gathers from whichever node runs it (tasks have no
 * TTY: always multiplexed).
 */
export async function streamTaskLogs(docker: Docker, taskId: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream> {
  const query = {
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: options.follow,
    ...(options.sinceSeconds !== undefined ? { since: options.sinceSeconds } : {}),
    ...(options.tail !== undefined ? { tail: String(options.tail) } : {}),
  };
  const source = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
    docker.modem.dial({ path: `/tasks/${taskId}/logs?`, method: 'GET', options: query, isStream: true, statusCodes: { 200: true, 404: 'no such task' } }, (error: unknown, stream: unknown) =>
      error ? reject(error as Error) : resolve(stream as NodeJS.ReadableStream),
    );
  });
  return lineStream(docker, source, false, onLine);
}

function lineStream(docker: Docker, source: NodeJS.ReadableStream, tty: boolean, onLine: (line: TimestampedLine) => void): LogStream {
  const outputs = { stdout: new PassThrough(), stderr: new PassThrough() };
  for (const [stream, passThrough] of Object.entries(outputs) as ['stdout' | 'stderr', PassThrough][]) {
    readline.createInterface({ input: passThrough, crlfDelay: Infinity }).on('line', (line) => {
      const space = line.indexOf(' ');
      if (space > 0) onLine({ time: line.slice(0, space), stream, text: line.slice(space + 1) });
    });
  }
  if (tty) source.pipe(outputs.stdout);
  else docker.modem.demuxStream(source, outputs.stdout, outputs.stderr);
  const done = new Promise<void>((resolve) => {
    const finish = (): void => {
      outputs.stdout.end();
      outputs.stderr.end();
      // Let readline emit the last lines before reporting the end.
      setImmediate(resolve);
    };
    source.on('end', finish);
    source.on('close', finish);
    source.on('error', finish);
  });
  return {
    stop: () => (source as unknown as { destroy?: () => void }).destroy?.(),
    done,
  };
}

/** Docker multiplexes stdout and stderr in 8-byte framed chunks when there is no TTY. */
export function demuxedText(output: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= output.length && output[offset + 1] === 0 && output[offset + 2] === 0 && output[offset + 3] === 0) {
    const size = output.readUInt32BE(offset + 4);
    parts.push(output.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  if (offset === 0) return output.toString('utf8');
  return Buffer.concat(parts).toString('utf8');
}
