import { randomUint16, type RandomSource } from "../../hal/random.js";

/** Back-off for temporary failures: 2 s × 2^n, capped at 1 h, ±25 % jitter. */
export const RETRY_BASE_MS = 2000;
export const RETRY_CAP_MS = 3600 * 1000;
export const RETRY_JITTER = 0.25;

/** Delay before retry number `attempt` (0 for the first retry). */
export function retryDelayMs(attempt: number, random: RandomSource): number {
  const base = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 30));
  const jitter = 1 + RETRY_JITTER * (2 * (randomUint16(random) / 65535) - 1);
  return Math.round(base * jitter);
}
