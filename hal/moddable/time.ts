import Time from "time";
import Timer from "timer";
import { LongTimers } from "../common/long-timer.js";
import type { Time as HalTime, TimerHandle } from "../time.js";

/** Time on Moddable: Time.ticks (monotonic ms), Date for the wall clock, Timer for callbacks. */
export class ModdableTime implements HalTime {
  private readonly startTicks = Time.ticks;
  private readonly timers = new LongTimers({
    arm: (delayMs, callback) => Timer.set(() => callback(), delayMs),
    disarm: (handle) => Timer.clear(handle as ReturnType<typeof Timer.set>),
  });

  monotonicMs(): number {
    return Time.delta(this.startTicks);
  }
  wallClockMs(): number {
    return Date.now();
  }
  setWallClockMs(epochMs: number): void {
    Time.set(Math.floor(epochMs / 1000));
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.timers.set(delayMs, callback);
  }
  clearTimer(handle: TimerHandle | undefined): void {
    this.timers.clear(handle);
  }
}
