import type { AppProcess, AppRuntime, LogStream, ReleaseStore, TimestampedLine } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import type { LogLine } from '../domain/shapes.js';
import { processLabel } from '../domain/process-identity.js';
import { ROUTER_PROCESS, routerLine, type AccessLogCursor, type RouterLogSource } from './router-log.js';

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

/**
 * A point in time as UTC RFC 3339 with all nine digits of the fraction: the times Pilot sends
 * compare as strings, so a client keeps the latest one it saw with `>`.
 */
export function fullTimestamp(nanos: bigint): string {
  const seconds = new Date(Number(nanos / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export interface LogFollower {
  stop(): void;
  readonly done: Promise<void>;
}

/** Which lines: the last `lines` of them, of the processes `ps` names (`web`, `web.1`), from `since`. */
export interface LogSelection {
  readonly lines: number;
  /** A process type (`web`) or one process (`web.1`); every process when unset. */
  readonly ps?: string;
  /** RFC 3339: no line before it. */
  readonly since?: string;
}

export interface LogTiming {
  /** How often a follower looks for processes that joined or came back (a deploy, a scale, a restart). */
  readonly pollMs: number;
  /**
   * How long a followed line waits for lines of other processes that are older but arrive
   * later, so lines go out in time order and a resume from the last time seen skips nothing.
   */
  readonly settleMs: number;
}

export const DEFAULT_LOG_TIMING: LogTiming = { pollMs: 500, settleMs: 300 };

/** Lines of a process that joins a followed log (a new release's, a new scale's): from its start, this many at most. */
const JOIN_TAIL_LINES = 1000;

export interface LogServiceDeps {
  readonly releases: ReleaseStore;
  readonly runtime: Pick<AppRuntime, 'streamLogs' | 'list'>;
  /** Caddy's access log of each app: its router lines, merged with the processes' (`--ps router` alone). */
  readonly router?: RouterLogSource;
  readonly timing?: LogTiming;
}

interface Followed {
  readonly label: string;
  /** The time of the last line taken from this process: a stream opened again starts after it. */
  last: bigint | undefined;
  stream: LogStream | undefined;
  ended: boolean;
}

/**
 * Runtime logs of an app: every process of its live release (each web and worker), merged in
 * time order, each line named by its process (`web.1`).
 */
export class LogService {
  private readonly timing: LogTiming;

  constructor(private readonly deps: LogServiceDeps) {
    this.timing = deps.timing ?? DEFAULT_LOG_TIMING;
  }

  /** The last `lines` lines across the selected processes, oldest first. */
  async tail(app: App, selection: LogSelection): Promise<LogLine[]> {
    const since = selection.since === undefined ? undefined : sinceParameter(timestampNanos(selection.since));
    const perProcess = await Promise.all(
      (await this.sources(app, selection.ps)).map(async (process) => {
        const collected: { at: bigint; line: LogLine }[] = [];
        const label = processLabel(process.identity);
        try {
          const options = { tail: selection.lines, follow: false, ...(since !== undefined ? { sinceSeconds: since } : {}) };
          const stream = await this.deps.runtime.streamLogs(process.id, options, (line) => collected.push(named(line, label)));
          await stream.done;
        } catch {
          // Gone between the listing and the request (a retirement): it has no lines to give.
        }
        return collected;
      }),
    );
    const sinceNanos = selection.since === undefined ? undefined : timestampNanos(selection.since);
    const router = (await this.routerTail(app, selection.ps, selection.lines)).filter((entry) => sinceNanos === undefined || entry.at >= sinceNanos);
    return [...perProcess.flat(), ...router].sort(byTime).slice(-selection.lines).map((entry) => entry.line);
  }

  /** The app's last router lines, when the selection has them (every process, or `router`). */
  private async routerTail(app: App, ps: string | undefined, lines: number): Promise<{ at: bigint; line: LogLine }[]> {
    if (!this.deps.router || (ps !== undefined && ps !== ROUTER_PROCESS)) return [];
    return routed(await this.deps.router.last(app.id, lines).catch(() => []));
  }

  /**
   * Streams the lines after `after` (the latest time a reconnecting client has: it resumes
   * with no gap and no repeat), or the last `lines` first. Follows the processes as they
   * change: a deploy's, a scale's or a restart's new processes join (from their first line),
   * a stopped one is read again once it runs.
   */
  follow(app: App, start: LogSelection & { after?: string }, onLine: (line: LogLine) => void): LogFollower {
    const followed = new Map<string, Followed>();
    const pending: { at: bigint; line: LogLine }[] = [];
    let stopped = false;
    let wake: (() => void) | undefined;

    const flush = (all = false): void => {
      if (pending.length === 0) return;
      const settled = BigInt(Date.now() - this.timing.settleMs) * 1_000_000n;
      pending.sort(byTime);
      let count = 0;
      while (count < pending.length && (all || (pending[count]?.at ?? 0n) <= settled)) count += 1;
      for (const entry of pending.splice(0, count)) onLine(entry.line);
    };
    const flusher = setInterval(flush, Math.max(10, Math.floor(this.timing.settleMs / 3)));

    const open = async (process: AppProcess, entry: Followed): Promise<void> => {
      const options = entry.last === undefined
        ? { tail: JOIN_TAIL_LINES, follow: true }
        : { sinceSeconds: sinceParameter(entry.last), follow: true };
      entry.ended = false;
      try {
        entry.stream = await this.deps.runtime.streamLogs(process.id, options, (line) => {
          const taken = named(line, entry.label);
          if (entry.last !== undefined && taken.at <= entry.last) return;
          entry.last = taken.at;
          pending.push(taken);
        });
        if (stopped) entry.stream.stop();
        void entry.stream.done.then(() => (entry.ended = true));
      } catch {
        // Gone between the listing and the request: looked for again at the next round.
        entry.ended = true;
      }
    };

    let setBase: (base: bigint) => void = () => undefined;
    const based = new Promise<bigint>((resolve) => (setBase = resolve));
    const run = async (): Promise<void> => {
      let base: bigint;
      if (start.after !== undefined) {
        base = timestampNanos(start.after);
      } else {
        const startedAt = BigInt(Date.now()) * 1_000_000n;
        const recent = start.lines > 0 ? await this.tail(app, start) : [];
        for (const line of recent) onLine(line);
        const lastShown = recent.at(-1);
        base = lastShown ? timestampNanos(lastShown.time) : startedAt;
      }
      setBase(base);
      let first = true;
      while (!stopped) {
        const sources = await this.sources(app, start.ps).catch(() => []);
        for (const process of sources) {
          let entry = followed.get(process.id);
          if (!entry) {
            // Those there from the start continue from the base; those that join, from their first line.
            entry = { label: processLabel(process.identity), last: first ? base : undefined, stream: undefined, ended: true };
            followed.set(process.id, entry);
          }
          if (entry.ended && process.running) await open(process, entry);
        }
        const current = new Set(sources.map((process) => process.id));
        // Left the live release and read to its end (a retired process): forgotten.
        for (const [id, entry] of followed) if (entry.ended && !current.has(id)) followed.delete(id);
        first = false;
        if (!stopped) await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, this.timing.pollMs);
        });
      }
    };

    // Router lines: read from Caddy's access log as it grows, those after the base time only.
    let routerCursor: AccessLogCursor | undefined;
    let routerLast: bigint | undefined;
    let routerReading = false;
    const readRouter = async (): Promise<void> => {
      const router = this.deps.router;
      if (!router || routerReading || stopped || (start.ps !== undefined && start.ps !== ROUTER_PROCESS)) return;
      routerReading = true;
      try {
        let entries: string[];
        if (routerCursor === undefined || routerLast === undefined) {
          routerLast = await based;
          // The cursor first: a line written meanwhile comes twice, and goes once (by its time).
          routerCursor = (await router.after(app.id, undefined)).cursor;
          entries = await router.last(app.id, JOIN_TAIL_LINES);
        } else {
          const read = await router.after(app.id, routerCursor);
          routerCursor = read.cursor;
          entries = read.entries;
        }
        for (const entry of routed(entries)) {
          if (entry.at <= routerLast) continue;
          routerLast = entry.at;
          pending.push(entry);
        }
      } catch {
        // The file is being rolled over or is not there yet: read again at the next tick.
      } finally {
        routerReading = false;
      }
    };
    const routerTimer = this.deps.router ? setInterval(() => void readRouter(), Math.max(20, Math.floor(this.timing.settleMs / 2))) : undefined;

    const done = run().finally(() => {
      clearInterval(flusher);
      clearInterval(routerTimer);
      for (const entry of followed.values()) entry.stream?.stop();
    });
    return {
      stop: () => {
        stopped = true;
        for (const entry of followed.values()) entry.stream?.stop();
        flush(true);
        wake?.();
      },
      done,
    };
  }

  /** The live release's processes in its slot, those `ps` names only. */
  private async sources(app: App, ps: string | undefined): Promise<AppProcess[]> {
    const live = this.deps.releases.live(app.id);
    if (!live) return [];
    const processes = await this.deps.runtime.list({ app: app.name, release: live.version });
    return processes.filter((process) => process.identity.slot === live.slot && selects(ps, process));
  }
}

/** Access log entries as router lines, each at the time Caddy logged it. */
function routed(entries: readonly string[]): { at: bigint; line: LogLine }[] {
  return entries.flatMap((json) => {
    const parsed = routerLine(json);
    return parsed ? [{ at: parsed.at, line: { time: fullTimestamp(parsed.at), stream: 'stdout' as const, text: parsed.text, process: ROUTER_PROCESS } }] : [];
  });
}

function selects(ps: string | undefined, process: AppProcess): boolean {
  if (ps === undefined) return true;
  return ps.includes('.') ? ps === processLabel(process.identity) : ps === process.identity.type;
}

function named(line: TimestampedLine, process: string): { at: bigint; line: LogLine } {
  const at = timestampNanos(line.time);
  return { at, line: { time: fullTimestamp(at), stream: line.stream, text: line.text, process } };
}

function byTime(a: { at: bigint }, b: { at: bigint }): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
}
