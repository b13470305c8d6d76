/** Opaque handle of a pending timer. */
export type TimerHandle = { readonly __timer: unique symbol } | number | object;

export interface Clock {
  /** Milliseconds since an arbitrary start; never goes backwards. */
  monotonicMs(): number;
}

export interface Time extends Clock {
  /** Wall clock, milliseconds since the Unix epoch (LwM2M /3/0/13 reads it). */
  wallClockMs(): number;
  /** Sets the wall clock (LwM2M /3/0/13 writes it). */
  setWallClockMs(epochMs: number): void;
  /** Calls `callback` once after `delayMs`; never blocks. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Cancels a timer; clearing an expired or unknown timer is harmless. */
  clearTimer(handle: TimerHandle | undefined): void;
}
