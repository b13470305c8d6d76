import type { Platform } from "../../hal/platform.js";

/**
 * A tiny test API for device code that runs unchanged under jest (Node) and
 * inside XS (test/xs). Tests may return a promise; they get the platform of
 * the engine they run in.
 */
export interface TestContext {
  readonly platform: Platform;
}

export type TestBody = (context: TestContext) => void | Promise<void>;

export interface TestCase {
  readonly name: string;
  readonly body: TestBody;
}

export interface Suite {
  readonly name: string;
  readonly tests: readonly TestCase[];
}

export function suite(name: string, define: (test: (name: string, body: TestBody) => void) => void): Suite {
  const tests: TestCase[] = [];
  define((testName, body) => tests.push({ name: testName, body }));
  return { name, tests };
}

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    // Defined, not assigned: a frozen Error.prototype (Moddable preload) makes its read-only `name` refuse assignment.
    Object.defineProperty(this, "name", { value: "AssertionError", writable: true, configurable: true });
  }
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes[${Array.from(value).join(",")}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keysA = Object.keys(a);
    const keysB = Object.keys(b);
    return keysA.length === keysB.length && keysA.every((key) => same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return false;
}

export interface Assert {
  ok(condition: unknown, message?: string): asserts condition;
  equal<T>(actual: T, expected: T, message?: string): void;
  notEqual<T>(actual: T, unexpected: T, message?: string): void;
  throws(body: () => unknown, code: string, message?: string): void;
}

export const assert: Assert = Object.freeze({
  ok(condition: unknown, message = "expected a truthy value"): asserts condition {
    if (!condition) throw new AssertionError(message);
  },
  equal<T>(actual: T, expected: T, message?: string): void {
    if (!same(actual, expected)) throw new AssertionError(`${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
  },
  notEqual<T>(actual: T, unexpected: T, message?: string): void {
    if (same(actual, unexpected)) throw new AssertionError(`${message ? message + ": " : ""}did not expect ${show(unexpected)}`);
  },
  /** Expects `body` to throw an error whose `code` (or message) matches. */
  throws(body: () => unknown, code: string, message?: string): void {
    try {
      body();
    } catch (error) {
      const actual = (error as { code?: string }).code ?? String((error as Error).message);
      if (actual !== code && String((error as Error).message).indexOf(code) < 0) {
        throw new AssertionError(`${message ? message + ": " : ""}expected error ${code}, got ${actual}: ${(error as Error).message}`);
      }
      return;
    }
    throw new AssertionError(`${message ? message + ": " : ""}expected error ${code}, nothing was thrown`);
  },
});

/** Waits `ms` on the platform's timers. */
export function sleep(platform: Platform, ms: number): Promise<void> {
  return new Promise((resolve) => {
    platform.time.setTimer(ms, resolve);
  });
}

/** Polls `condition` every 5 ms until it holds or `timeoutMs` passes. */
export function waitFor(platform: Platform, condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = platform.time.monotonicMs() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) resolve();
      else if (platform.time.monotonicMs() > deadline) reject(new AssertionError(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else platform.time.setTimer(5, check);
    };
    check();
  });
}

/** Waits until a UDP endpoint knows its local port. */
export async function bound<T extends { readonly localPort: number }>(platform: Platform, endpoint: T): Promise<T> {
  await waitFor(platform, () => endpoint.localPort > 0, 2000, "the UDP port to be bound");
  return endpoint;
}
