import Time from "time";
import Timer from "timer";
import type { Time as HalTime, TimerHandle } from "../time.js";

/** Time on Moddable: Time.ticks (monotonic ms), Date for the wall clock, Timer for callbacks. */
export class ModdableTime implements HalTime {
  private readonly startTicks = Time.ticks;

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
    return Timer.set(() => callback(), Math.max(0, delayMs));
  }
  clearTimer(handle: TimerHandle | undefined): void {
    if (handle !== undefined) Timer.clear(handle as ReturnType<typeof Timer.set>);
  }
}
