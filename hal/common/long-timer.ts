import type { TimerHandle } from "../time.js";

/**
 * The longest delay the ports' timer primitives take: Node's setTimeout and
 * Moddable's Timer (an int32 interval, compared as a signed 32-bit tick delta)
 * both fire at once above 2^31 − 1 ms (about 24.8 days).
 */
export const MAX_TIMER_DELAY_MS = 0x7fffffff;

/** A port's own one-shot timer (setTimeout, Moddable's Timer, the host bridge). */
export interface TimerPrimitive {
  arm(delayMs: number, callback: () => void): unknown;
  disarm(handle: unknown): void;
}

/** The handle of a timer longer than the primitive's maximum: the link armed now. */
class Chain {
  link: unknown = undefined;
}

/**
 * Timers of any length on top of a port's primitive: a delay above the
 * maximum arms the maximum, then re-arms for the remainder. The caller holds
 * one handle for the whole chain and may clear it at any link. Delays within
 * the maximum go straight to the primitive, with its own handle.
 */
export class LongTimers {
  private readonly primitive: TimerPrimitive;
  readonly maxDelayMs: number;

  constructor(primitive: TimerPrimitive, maxDelayMs: number = MAX_TIMER_DELAY_MS) {
    this.primitive = primitive;
    this.maxDelayMs = maxDelayMs;
  }

  set(delayMs: number, callback: () => void): TimerHandle {
    const delay = delayMs > 0 ? delayMs : 0;
    if (delay <= this.maxDelayMs) return this.primitive.arm(delay, callback) as TimerHandle;
    const chain = new Chain();
    const step = (remainingMs: number): void => {
      const linkMs = remainingMs > this.maxDelayMs ? this.maxDelayMs : remainingMs;
      chain.link = this.primitive.arm(linkMs, () => {
        chain.link = undefined;
        if (remainingMs > linkMs) step(remainingMs - linkMs);
        else callback();
      });
    };
    step(delay);
    return chain;
  }

  clear(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    if (handle instanceof Chain) {
      if (handle.link !== undefined) this.primitive.disarm(handle.link);
      handle.link = undefined;
    } else {
      this.primitive.disarm(handle);
    }
  }
}
