import { performance } from "node:perf_hooks";
import { LongTimers } from "../../common/long-timer.js";
import type { Time, TimerHandle } from "../../time.js";

/** Time on Node: performance.now() for monotonic time, an offset for the settable wall clock. */
export class NodeTime implements Time {
  private wallOffsetMs = 0;
  private readonly startMs = performance.now();
  private readonly timers = new LongTimers({
    arm: (delayMs, callback) => setTimeout(callback, delayMs),
    disarm: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  });

  monotonicMs(): number {
    return Math.floor(performance.now() - this.startMs);
  }
  wallClockMs(): number {
    return Date.now() + this.wallOffsetMs;
  }
  setWallClockMs(epochMs: number): void {
    this.wallOffsetMs = epochMs - Date.now();
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.timers.set(delayMs, callback);
  }
  clearTimer(handle: TimerHandle | undefined): void {
    this.timers.clear(handle);
  }
}
