import type { Logger } from 'pino';
import type { AppProcess, AppRuntime, ProcessChange } from '../domain/ports.js';
import { compareNames, compareProcesses, type ProcessFilter } from '../domain/process-identity.js';

/** What the health monitor last found: `unknown` until a web process was checked (and for the others). */
export type ProcessHealth = 'unknown' | 'healthy' | 'unhealthy';

/** A process as Pilot knows it now: the runtime's state and the monitor's verdict. */
export interface LiveProcess extends AppProcess {
  readonly health: ProcessHealth;
}

/** What happened to a process, as the live state saw it change. */
export type LiveEvent =
  /** The runtime restarted it after it exited or was killed (its restart count went up). */
  | { readonly kind: 'crashed'; readonly process: AppProcess; readonly restarts: number }
  | { readonly kind: 'health'; readonly process: AppProcess; readonly health: ProcessHealth; readonly previous: ProcessHealth; readonly reason: string };

/** How long the first listing may take before start() gives up waiting (the engine may be slow to answer). */
const FIRST_LISTING_TIMEOUT_MS = 30_000;

/**
 * Every process of the instance and its state (status, restarts, start time, address,
 * health), kept in memory from the runtime's stream of changes: one listing at start and
 * after the stream reconnected, then each change as it comes. The API and the CLI read it,
 * so showing an app never asks the engine.
 */
export class LiveState {
  private readonly processes = new Map<string, LiveProcess>();
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private subscription: { stop(): void } | undefined;
  private changes = 0;

  constructor(
    private readonly runtime: Pick<AppRuntime, 'watch' | 'list' | 'inspect'>,
    private readonly logger: Logger,
  ) {}

  /** Follows the runtime; resolves once the first listing is in (or after a timeout, logged). */
  async start(): Promise<void> {
    let listed: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (listed = resolve));
    this.subscription = this.runtime.watch((change) => {
      this.apply(change);
      if (change.kind === 'listed') listed();
    });
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), FIRST_LISTING_TIMEOUT_MS).unref());
    if (!(await Promise.race([first.then(() => true), timeout]))) this.logger.warn('the runtime did not list its processes yet: the state shown may be empty until it does');
  }

  stop(): void {
    this.subscription?.stop();
    this.subscription = undefined;
  }

  /** Hears of crashes and health changes; returns the unsubscription. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The processes matching `filter`, web first then by type and index (as the runtime lists them). */
  list(filter: ProcessFilter = {}): LiveProcess[] {
    return [...this.processes.values()]
      .filter(({ identity }) =>
        (filter.app === undefined || identity.app === filter.app) &&
        (filter.release === undefined || identity.release === filter.release) &&
        (filter.slot === undefined || identity.slot === filter.slot),
      )
      .sort((a, b) => compareProcesses(a.identity, b.identity) || compareNames(a.name, b.name));
  }

  /** Moves at every change of a process (its state, its health, one gone): what was built from them is stale once it moved. */
  get version(): number {
    return this.changes;
  }

  get(id: string): LiveProcess | undefined {
    return this.processes.get(id);
  }

  isUnhealthy(id: string): boolean {
    return this.processes.get(id)?.health === 'unhealthy';
  }

  /** The health monitor's verdict on a process (and why); listeners hear of a change. */
  setHealth(id: string, health: ProcessHealth, reason = ''): void {
    const process = this.processes.get(id);
    if (!process || process.health === health) return;
    this.set({ ...process, health });
    this.tell({ kind: 'health', process, health, previous: process.health, reason });
  }

  /**
   * Reads the app's processes from the runtime now: after Pilot itself changed them (a
   * restart, a scale), so its answer shows the change without waiting for the events.
   */
  async refresh(app: string): Promise<void> {
    const listed = await this.runtime.list({ app });
    const processes = await Promise.all(listed.map(async (process) => (await this.runtime.inspect(process.id)) ?? process));
    const current = new Set(processes.map((process) => process.id));
    for (const process of this.list({ app })) if (!current.has(process.id)) this.remove(process.id);
    for (const process of processes) this.update(process);
  }

  private apply(change: ProcessChange): void {
    if (change.kind === 'removed') {
      this.remove(change.id);
    } else if (change.kind === 'changed') {
      this.update(change.process);
    } else {
      const current = new Set(change.processes.map((process) => process.id));
      for (const id of [...this.processes.keys()]) if (!current.has(id)) this.remove(id);
      for (const process of change.processes) this.update(process);
    }
  }

  private update(process: AppProcess): void {
    const previous = this.processes.get(process.id);
    // A verdict lasts until the monitor gives another: an unhealthy process restarted stays out of the route until it passes.
    this.set({ ...process, health: previous?.health ?? 'unknown' });
    if (previous && process.restartCount > previous.restartCount) this.tell({ kind: 'crashed', process, restarts: process.restartCount });
  }

  private set(process: LiveProcess): void {
    this.processes.set(process.id, process);
    this.changes += 1;
  }

  private remove(id: string): void {
    if (this.processes.delete(id)) this.changes += 1;
  }

  private tell(event: LiveEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'a listener of process changes failed');
      }
    }
  }
}
