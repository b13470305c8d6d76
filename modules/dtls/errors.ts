import { HalError } from "../../hal/errors.js";

/**
 * Why a DTLS session ended or refused work. The first five are the ones a
 * registration layer treats as temporary (retry with back-off).
 */
export type DtlsErrorCode =
  | "handshake-failed"
  | "handshake-timeout"
  | "fatal-alert"
  | "peer-closed"
  | "session-lost"
  | "send-failed"
  | "no-memory"
  | "bad-config"
  | "not-connected"
  | "too-large"
  | "queue-full"
  | "internal";

/** Status numbers of the native binding (dtls-core.h). */
export const DtlsStatus = Object.freeze({
  handshaking: 0,
  connected: 1,
  open: 2,
  peerClosed: 3,
  closed: 4,
});

const ERROR_CODES: readonly DtlsErrorCode[] = Object.freeze([
  "handshake-failed",
  "handshake-timeout",
  "fatal-alert",
  "session-lost",
  "send-failed",
  "no-memory",
  "bad-config",
  "not-connected",
  "too-large",
]);

const EXPLANATIONS: Readonly<Record<DtlsErrorCode, string>> = Object.freeze({
  "handshake-failed": "the DTLS handshake failed",
  "handshake-timeout": "the DTLS handshake got no answer in time (peer unreachable, or a wrong PSK identity or key: mbedtls drops the peer's encrypted alert)",
  "fatal-alert": "the peer sent a fatal alert (for example an unknown PSK identity)",
  "peer-closed": "the peer closed the DTLS session (close_notify)",
  "session-lost": "the peer lost the DTLS session (it restarted, or the client reconnected)",
  "send-failed": "a datagram could not be sent",
  "no-memory": "out of memory for a DTLS session",
  "bad-config": "invalid DTLS options (identity, key of 1 to 64 bytes, timers)",
  "not-connected": "the DTLS session is not open",
  "too-large": "the plaintext does not fit one DTLS record",
  "queue-full": "too many datagrams wait for the DTLS handshake",
  internal: "DTLS failed",
});

/** The error code of a negative native status. */
export function dtlsErrorCodeOf(status: number): DtlsErrorCode {
  return ERROR_CODES[-status - 1] ?? "internal";
}

/**
 * A DTLS failure, as a HalError "secure-connection" so transports can report
 * it through their usual error path. Messages never carry key material; the
 * mbedtls error number is kept for diagnosis.
 */
export class DtlsError extends HalError {
  readonly reason: DtlsErrorCode;
  readonly libraryError: number;

  constructor(reason: DtlsErrorCode, detail?: string, libraryError = 0) {
    const library = libraryError ? ` (mbedtls -0x${(-libraryError).toString(16)})` : "";
    super("secure-connection", `${reason}: ${EXPLANATIONS[reason]}${detail ? ` [${detail}]` : ""}${library}`);
    // Defined, not assigned: a frozen Error.prototype (Moddable preload) makes its read-only `name` refuse assignment.
    Object.defineProperty(this, "name", { value: "DtlsError", writable: true, configurable: true });
    this.reason = reason;
    this.libraryError = libraryError;
  }
}

export function isDtlsError(error: unknown, reason?: DtlsErrorCode): error is DtlsError {
  return error instanceof DtlsError && (reason === undefined || error.reason === reason);
}
