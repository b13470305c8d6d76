import type { Time, TimerHandle } from "../../hal/time.js";

/** Interval of the summary line of a repeated warning. */
export const WARNING_INTERVAL_MS = 10000;

/**
 * A warning that may repeat once per datagram (a flood of oversize
 * messages): the first occurrence is written at once, later ones are only
 * counted, and each interval with repeats ends with one summary line
 * ("… N more in the last 10 s"). A quiet interval closes the window, so the
 * next occurrence is written at once again.
 */
export class RepeatedWarning {
  private readonly time: Time;
  private readonly write: (line: string) => void;
  private readonly intervalMs: number;
  private timer: TimerHandle | undefined;
  private repeats = 0;
  private last = "";

  constructor(time: Time, write: (line: string) => void, intervalMs: number = WARNING_INTERVAL_MS) {
    this.time = time;
    this.write = write;
    this.intervalMs = intervalMs;
  }

  report(line: string): void {
    if (this.timer !== undefined) {
      this.repeats++;
      this.last = line;
      return;
    }
    this.write(line);
    this.arm();
  }

  /** Stops the interval timer; repeats not yet summarised are dropped. */
  close(): void {
    this.time.clearTimer(this.timer);
    this.timer = undefined;
    this.repeats = 0;
  }

  private arm(): void {
    this.timer = this.time.setTimer(this.intervalMs, () => {
      this.timer = undefined;
      if (this.repeats === 0) return;
      this.write(`${this.repeats} more in the last ${Math.round(this.intervalMs / 1000)} s, the latest: ${this.last}`);
      this.repeats = 0;
      this.arm();
    });
  }
}
