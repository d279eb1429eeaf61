/**
 * Any number of shared holders, or one exclusive holder. A waiting exclusive holder goes first:
 * new shared holders wait behind it, so a stream of pushes cannot starve a collection.
 */
export class SharedExclusiveLock {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private exclusiveWaiting = 0;
  private waiting: (() => void)[] = [];

  async shared<T>(body: () => Promise<T>): Promise<T> {
    while (this.exclusiveHeld || this.exclusiveWaiting > 0) await this.wait();
    this.sharedHolders += 1;
    try {
      return await body();
    } finally {
      this.sharedHolders -= 1;
      this.wakeAll();
    }
  }

  async exclusive<T>(body: () => Promise<T>): Promise<T> {
    this.exclusiveWaiting += 1;
    try {
      while (this.exclusiveHeld || this.sharedHolders > 0) await this.wait();
    } finally {
      this.exclusiveWaiting -= 1;
    }
    this.exclusiveHeld = true;
    try {
      return await body();
    } finally {
      this.exclusiveHeld = false;
      this.wakeAll();
    }
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private wakeAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}
