import type { AppRuntime, ReleaseStore, TimestampedLine } from '../domain/ports.js';
import type { App } from '../domain/types.js';

/**
 * Docker's RFC 3339 timestamps as nanoseconds since the epoch. Strings do not compare:
 * Docker trims trailing zeros of the fraction.
 */
export function timestampNanos(time: string): bigint {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(time);
  if (!match) throw new Error(`not a Docker timestamp: ${time}`);
  const [, whole = '', fraction = '', zone = 'Z'] = match;
  const millis = Date.parse(`${whole}${zone}`);
  if (Number.isNaN(millis)) throw new Error(`not a Docker timestamp: ${time}`);
  return BigInt(millis) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** Docker's `since` parameter (`seconds.nanoseconds`) for a point in time. */
export function sinceParameter(nanos: bigint): string {
  return `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
}

export interface LogFollower {
  stop(): void;
  readonly done: Promise<void>;
}

export interface LogServiceDeps {
  readonly releases: ReleaseStore;
  readonly runtime: Pick<AppRuntime, 'streamLogs' | 'inspect'>;
}

/** Runtime logs of an app's live container, from Docker. */
export class LogService {
  constructor(private readonly deps: LogServiceDeps) {}

  async tail(app: App, lines: number): Promise<TimestampedLine[]> {
    const containerId = this.deps.releases.live(app.id)?.containerId;
    if (!containerId) return [];
    const collected: TimestampedLine[] = [];
    const stream = await this.deps.runtime.streamLogs(containerId, { tail: lines, follow: false }, (line) => collected.push(line));
    await stream.done;
    return collected.sort((a, b) => (timestampNanos(a.time) < timestampNanos(b.time) ? -1 : 1));
  }

  /**
   * Streams lines after `after` (a timestamp the follower already has: a reconnecting client
   * resumes with no gap and no repeat) or starting with the last `tail` lines. When the live
   * container changes (a deploy), it goes on with the new one.
   */
  follow(app: App, start: { after?: string; tail: number }, onLine: (line: TimestampedLine) => void): LogFollower {
    let stopped = false;
    let current: { stop(): void } | undefined;
    let last = start.after !== undefined ? timestampNanos(start.after) : undefined;
    const emit = (line: TimestampedLine): void => {
      const at = timestampNanos(line.time);
      if (last !== undefined && at <= last) return;
      last = at;
      onLine(line);
    };
    const run = async (): Promise<void> => {
      let followed: string | undefined;
      let first = true;
      while (!stopped) {
        const live = this.deps.releases.live(app.id)?.containerId ?? undefined;
        // Follow a new live container, or the same one again once it runs (after a stop/start).
        if (live && (live !== followed || (await this.isRunning(live)))) {
          followed = live;
          const options = first && last === undefined
            ? { tail: start.tail, follow: true }
            : { sinceSeconds: sinceParameter(last ?? 0n), follow: true };
          first = false;
          try {
            const stream = await this.deps.runtime.streamLogs(live, options, emit);
            current = stream;
            if (stopped) stream.stop();
            await stream.done;
          } catch {
            // The container went away between the lookup and the request: look again.
          }
        }
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    const done = run();
    return {
      stop: () => {
        stopped = true;
        current?.stop();
      },
      done,
    };
  }

  private async isRunning(containerId: string | undefined): Promise<boolean> {
    if (!containerId) return false;
    return (await this.deps.runtime.inspect(containerId))?.running ?? false;
  }
}
