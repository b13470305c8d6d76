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
    this.name = "HalError";
  }
}

export function isHalError(error: unknown, code?: HalErrorCode): error is HalError {
  return error instanceof HalError && (code === undefined || error.code === code);
}
