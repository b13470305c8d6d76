import type { TimerHandle } from "../time.js";

/** The longest delay the ports' timer primitives take. */
export const MAX_TIMER_DELAY_MS = 0x7fffffff;

/** A port's own one-shot timer (setTimeout, Moddable's Timer, the host bridge). */
export interface TimerPrimitive {
  arm(delayMs: number, callback: () => void): unknown;
  disarm(handle: unknown): void;
}

/** Timers on top of a port's primitive. */
export class LongTimers {
  private readonly primitive: TimerPrimitive;
  readonly maxDelayMs: number;

  constructor(primitive: TimerPrimitive, maxDelayMs: number = MAX_TIMER_DELAY_MS) {
    this.primitive = primitive;
    this.maxDelayMs = maxDelayMs;
  }

  set(delayMs: number, callback: () => void): TimerHandle {
    return this.primitive.arm(delayMs > 0 ? delayMs : 0, callback) as TimerHandle;
  }

  clear(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.primitive.disarm(handle);
  }
}
