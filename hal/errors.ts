/**
 * Every HAL failure is a HalError carrying a typed code, so callers can branch
 * on `error.code` instead of parsing messages.
 */
export type HalErrorCode =
  | "invalid-argument"
  | "address-invalid"
  | "dns-failed"
  | "unreachable"
  | "refused"
  | "closed"
  | "too-large"
  | "io"
  | "memory-exhausted"
  | "queue-full"
  | "not-found"
  | "out-of-range"
  | "corrupt"
  | "power-loss"
  | "busy"
  /** A secure transport (DTLS) failed: handshake, alert, lost session. */
  | "secure-connection";

export class HalError extends Error {
  readonly code: HalErrorCode;
  constructor(code: HalErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    // Defined, not assigned: a frozen Error.prototype (Moddable preload) makes its read-only `name` refuse assignment.
    Object.defineProperty(this, "name", { value: "HalError", writable: true, configurable: true });
  }
}

export function isHalError(error: unknown, code?: HalErrorCode): error is HalError {
  return error instanceof HalError && (code === undefined || error.code === code);
}
