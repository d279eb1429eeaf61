import type { ContainerEngine, LogStream } from '../../domain/ports.js';
import { sinceParameter, timestampNanos } from '../../services/logs.js';

/**
 * Follows a container's output through its engine (another machine's, in swarm mode: the
 * manager's) from now on, as `docker logs -f` does, and again after each end of the stream (the
 * container restarted or was recreated, the engine hung up), from the last line seen, so that
 * every line comes once. Returns the stop.
 */
export function followContainerLog(
  engine: Pick<ContainerEngine, 'streamLogs'>,
  container: string,
  onLine: (text: string) => void,
  retryMs: number,
  now: () => number = Date.now,
): () => void {
  let last = BigInt(now()) * 1_000_000n;
  let stopped = false;
  let stream: LogStream | undefined;
  let retry: NodeJS.Timeout | undefined;
  const open = async (): Promise<void> => {
    try {
      stream = await engine.streamLogs(container, { follow: true, sinceSeconds: sinceParameter(last) }, (line) => {
        const at = timestampNanos(line.time);
        // `since` is inclusive: the last line seen comes again after a reconnection.
        if (at <= last) return;
        last = at;
        onLine(line.text);
      });
      if (stopped) stream.stop();
      await stream.done;
    } catch {
      // No such container yet (being recreated), or the engine unreachable: the next try tells.
    }
    if (!stopped) retry = setTimeout(() => void open(), retryMs);
  };
  void open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    stream?.stop();
  };
}
