import { HalError } from "./errors.js";

export type Release = () => void;

/**
 * An asynchronous lock serialising a shared resource (the AT channel, a report
 * queue) across callbacks. Waiters are served in arrival order; the wait queue
 * is bounded and a full queue fails at once with HalError("queue-full").
 */
export class AsyncMutex {
  private readonly name: string;
  private readonly maxWaiters: number;
  private readonly waiters: ((release: Release) => void)[] = [];
  private held = false;

  constructor(name: string, maxWaiters = 16) {
    this.name = name;
    this.maxWaiters = maxWaiters;
  }

  get locked(): boolean {
    return this.held;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Calls `critical(release)` once the lock is ours; `release` must be called exactly once. */
  lock(critical: (release: Release) => void): void {
    if (!this.held) {
      this.held = true;
      critical(this.makeRelease());
      return;
    }
    if (this.waiters.length >= this.maxWaiters) {
      throw new HalError("queue-full", `mutex ${this.name}: ${this.maxWaiters} waiters already queued`);
    }
    this.waiters.push(critical);
  }

  /** Takes the lock only if it is free. */
  tryLock(): Release | undefined {
    if (this.held) return undefined;
    this.held = true;
    return this.makeRelease();
  }

  /** Promise form of lock(). */
  acquire(): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      try {
        this.lock(resolve);
      } catch (error) {
        reject(error);
      }
    });
  }

  private makeRelease(): Release {
    let released = false;
    return () => {
      if (released) throw new HalError("invalid-argument", `mutex ${this.name}: released twice`);
      released = true;
      const next = this.waiters.shift();
      if (next) next(this.makeRelease());
      else this.held = false;
    };
  }
}
