import { spawnSync } from "node:child_process";
import fs from "node:fs";
import tty from "node:tty";
import { HalError } from "../../errors.js";
import type { Serial, SerialOptions, SerialPort } from "../../serial.js";

/** A serial port on the host, with the promise that settles once its file descriptor is released. */
export interface NodeSerialPort extends SerialPort {
  /** Resolves once the descriptor is closed (after close(), or after the port failed). */
  readonly whenClosed: Promise<void>;
}

/**
 * Serial on a host TTY: a pty end in tests, a USB-serial adapter
 * (/dev/ttyUSB0) for a real module. `stty` sets the line raw at the baud
 * rate (8N1, no echo, no flow control); libuv's TTY handle then reads and
 * writes it without blocking Node.
 */
export class NodeSerial implements Serial {
  readonly path: string;
  private current: NodeSerialPort | undefined;

  constructor(path: string) {
    this.path = path;
  }

  open(options: SerialOptions): NodeSerialPort {
    if (this.current && !this.current.closed) throw new HalError("busy", `serial port ${this.path} is already open`);
    if (!Number.isInteger(options.baud) || options.baud <= 0) throw new HalError("invalid-argument", `baud rate ${options.baud}`);
    if (!fs.existsSync(this.path)) throw new HalError("not-found", `serial port ${this.path} not found`);
    configureRaw(this.path, options.baud);
    let fd: number;
    try {
      fd = fs.openSync(this.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    } catch (error) {
      throw new HalError("io", `cannot open serial port ${this.path}: ${(error as Error).message}`);
    }
    if (!tty.isatty(fd)) {
      fs.closeSync(fd);
      throw new HalError("invalid-argument", `${this.path} is not a TTY`);
    }
    const port = openStream(this.path, fd, options);
    this.current = port;
    return port;
  }
}

function configureRaw(path: string, baud: number): void {
  const result = spawnSync("stty", ["-F", path, String(baud), "raw", "-echo", "cs8", "-cstopb", "-parenb", "-crtscts", "clocal"], { encoding: "utf8" });
  if (result.error) throw new HalError("io", `cannot configure serial port ${path}: stty: ${result.error.message}`);
  if (result.status !== 0) throw new HalError("io", `cannot configure serial port ${path} at ${baud} baud: ${result.stderr.trim()}`);
}

function openStream(path: string, fd: number, options: SerialOptions): NodeSerialPort {
  // A tty.ReadStream is a duplex net.Socket on libuv's TTY handle, so it writes too.
  const stream = new tty.ReadStream(fd);
  // libuv reopens a pty slave by name to make it non-blocking on its own descriptor; ours is then spare.
  const handleFd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (handleFd !== undefined && handleFd >= 0 && handleFd !== fd) fs.closeSync(fd);
  let closed = false;
  let failed = false;
  let released: () => void = () => undefined;
  const whenClosed = new Promise<void>((resolve) => (released = resolve));
  const fail = (error: HalError) => {
    if (closed) return;
    closed = true;
    failed = true;
    stream.destroy();
    options.onError?.(error);
  };
  stream.on("data", (chunk: Buffer) => {
    if (!closed) options.onReceive(new Uint8Array(chunk));
  });
  stream.on("error", (error: NodeJS.ErrnoException) => fail(new HalError("io", `serial port ${path}: ${error.message}`)));
  stream.on("end", () => fail(new HalError("closed", `serial port ${path}: the other end is gone`)));
  stream.on("close", () => {
    closed = true;
    released();
  });
  return {
    whenClosed,
    get closed() {
      return closed;
    },
    write(data: Uint8Array) {
      if (closed) throw new HalError("closed", `write on closed serial port ${path}${failed ? " (it failed)" : ""}`);
      stream.write(Buffer.from(data)); // a copy: the caller may reuse `data`
    },
    close() {
      if (closed) return;
      closed = true;
      stream.destroy();
    },
  };
}
