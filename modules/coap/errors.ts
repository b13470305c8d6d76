export type CoapErrorKind =
  /** No ACK or response within the configured schedule. */
  | "timeout"
  /** The peer answered with RST. */
  | "reset"
  /** Cancelled locally (cancel(), endpoint closed). */
  | "cancelled"
  /** A queue or table limit was reached; nothing was sent. */
  | "limit"
  /** The transport refused the datagram. */
  | "transport"
  /** The message does not fit maxMessageSize. */
  | "too-large"
  /** The peer sent something this exchange cannot accept (wrong block, changed ETag, bad option). */
  | "protocol";

export class CoapError extends Error {
  readonly kind: CoapErrorKind;
  constructor(kind: CoapErrorKind, message: string) {
    super(`${kind}: ${message}`);
    this.kind = kind;
    // Defined, not assigned: a frozen Error.prototype (Moddable preload) makes its read-only `name` refuse assignment.
    Object.defineProperty(this, "name", { value: "CoapError", writable: true, configurable: true });
  }
}
