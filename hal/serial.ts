import type { HalError } from "./errors.js";

export interface SerialOptions {
  /** Bits per second, 8N1, no flow control. */
  readonly baud: number;
  /** Bytes as they arrive, in order; the callee owns `data`. */
  readonly onReceive: (data: Uint8Array) => void;
  /** The port failed (adapter unplugged, the pty's other end gone). */
  readonly onError?: (error: HalError) => void;
}

export interface SerialPort {
  /** Queues bytes for transmission; throws HalError("closed", "io"). */
  write(data: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

/**
 * The UART a radio module hangs on. Which one (pins and port on a board, a
 * TTY path on the host) is the port's configuration, not the caller's.
 */
export interface Serial {
  /** Throws HalError("busy") while a port is open, ("not-found") when none is configured. */
  open(options: SerialOptions): SerialPort;
}
