/** Runs tasks one at a time, in arrival order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  get busy(): boolean {
    return this.pending > 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await task();
    } finally {
      this.pending -= 1;
      release();
    }
  }
}

/** One Mutex per key (an app name): pushes to one app are serialized, others run side by side. */
export class KeyedMutex {
  private readonly locks = new Map<string, Mutex>();

  isBusy(key: string): boolean {
    return this.locks.get(key)?.busy ?? false;
  }

  /** The keys whose lock is held or awaited. */
  busyKeys(): string[] {
    return [...this.locks].filter(([, lock]) => lock.busy).map(([key]) => key);
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let lock = this.locks.get(key);
    if (!lock) {
      lock = new Mutex();
      this.locks.set(key, lock);
    }
    try {
      return await lock.run(task);
    } finally {
      if (!lock.busy) this.locks.delete(key);
    }
  }
}

/** At most `limit` tasks at once (builds: the machine has few cores); the rest wait in order. */
export class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Whether a new task would have to wait. */
  get full(): boolean {
    return this.running >= this.limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}
