import { performance } from "node:perf_hooks";
import type { Time, TimerHandle } from "../../time.js";

/** Time on Node: performance.now() for monotonic time, an offset for the settable wall clock. */
export class NodeTime implements Time {
  private wallOffsetMs = 0;
  private readonly startMs = performance.now();

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
    return setTimeout(callback, Math.max(0, delayMs));
  }
  clearTimer(handle: TimerHandle | undefined): void {
    if (handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  }
}
