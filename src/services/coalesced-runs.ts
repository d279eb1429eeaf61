/**
 * One run at a time per key, and at most one more waiting: requests made while a run is under
 * way coalesce into a single next run, which starts once it ended (and, as it starts, reads
 * what is newest then). A burst of push webhooks deploys the latest head once, not each push.
 */
export type RunRequest = 'started' | 'queued' | 'already-queued' | 'stopped';

interface KeyState {
  next: (() => Promise<void>) | undefined;
  readonly done: Promise<void>;
}

export class CoalescedRuns {
  private readonly keys = new Map<string, KeyState>();

  /** `onError` hears a run that threw: the next one still runs. */
  constructor(private readonly onError: (key: string, error: unknown) => void) {}

  private stopped = false;

  request(key: string, run: () => Promise<void>): RunRequest {
    if (this.stopped) return 'stopped';
    const state = this.keys.get(key);
    if (state) {
      const queued = state.next !== undefined;
      state.next = run;
      return queued ? 'already-queued' : 'queued';
    }
    const fresh: { next: (() => Promise<void>) | undefined; done: Promise<void> } = { next: undefined, done: Promise.resolve() };
    this.keys.set(key, fresh);
    fresh.done = this.loop(key, fresh, run);
    return 'started';
  }

  /** Whether a run of the key is under way or waiting. */
  busy(key: string): boolean {
    return this.keys.has(key);
  }

  /** No run starts from now on (Pilot stopping): those waiting are dropped, those under way end as they do. */
  stop(): void {
    this.stopped = true;
    for (const state of this.keys.values()) state.next = undefined;
  }

  /** Resolves once every run under way or waiting has ended. */
  async idle(): Promise<void> {
    while (this.keys.size > 0) await Promise.all([...this.keys.values()].map((state) => state.done));
  }

  private async loop(key: string, state: KeyState, first: () => Promise<void>): Promise<void> {
    // Each run starts in a later turn: a request right after this one still coalesces into the next.
    await Promise.resolve();
    let run: (() => Promise<void>) | undefined = first;
    while (run) {
      try {
        await run();
      } catch (error) {
        this.onError(key, error);
      }
      run = state.next;
      state.next = undefined;
    }
    this.keys.delete(key);
  }
}
