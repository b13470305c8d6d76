import Serial from "embedded:io/serial";
import { HalError } from "../errors.js";
import type { FirmwareConfig } from "../platform.js";
import type { Serial as HalSerial, SerialOptions, SerialPort } from "../serial.js";

/**
 * Where the modem's UART is, from the target's mc/config: `modemUart` is the
 * port (a number on ESP32, a devicetree name such as "usart2" on Zephyr, a
 * TTY path in the Linux simulator) and `modemTx`/`modemRx` the pins (ESP32
 * only; Zephyr takes them from the devicetree).
 */
export function moddableSerial(config: FirmwareConfig): HalSerial | undefined {
  const port = config["modemUart"];
  if (port === undefined || port === "") return undefined;
  const pins: Record<string, number | string> = {};
  if (typeof config["modemTx"] === "number") pins["transmit"] = config["modemTx"];
  if (typeof config["modemRx"] === "number") pins["receive"] = config["modemRx"];
  // The Linux simulator's serial module opens `device`; the devices take `port`.
  const where: Record<string, number | string> = typeof port === "string" && port.charAt(0) === "/" ? { device: port } : { port: typeof port === "number" ? port : String(port) };
  let open: SerialPort | undefined;
  return {
    open(options: SerialOptions): SerialPort {
      if (open && !open.closed) throw new HalError("busy", `serial port ${String(port)} is already open`);
      open = openPort({ ...where, ...pins }, String(port), options);
      return open;
    },
  };
}

/** Bytes waiting for room in the UART's transmit FIFO; more is refused, not buffered without end. */
const MAX_PENDING_BYTES = 4096;

function openPort(where: Record<string, number | string>, name: string, options: SerialOptions): SerialPort {
  let closed = false;
  let room = 0;
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let uart: Serial | undefined;
  const drain = () => {
    while (uart && room > 0 && pending.length > 0) {
      const head = pending[0]!;
      const slice = head.length <= room ? head : head.subarray(0, room);
      // An ArrayBuffer of its own: the Linux simulator's serial module takes no typed-array view.
      uart.write(slice.byteOffset === 0 && slice.byteLength === slice.buffer.byteLength ? slice.buffer : slice.slice().buffer);
      room -= slice.length;
      pendingBytes -= slice.length;
      if (slice.length === head.length) pending.shift();
      else pending[0] = head.subarray(slice.length);
    }
  };
  try {
    uart = new Serial({
      ...where,
      baud: options.baud,
      format: "buffer",
      onReadable(this: Serial) {
        const bytes = this.read();
        if (!closed && bytes instanceof ArrayBuffer && bytes.byteLength > 0) options.onReceive(new Uint8Array(bytes));
      },
      // ECMA-419 never writes part of a buffer and throws when the FIFO lacks room: write what fits as room appears.
      onWritable(this: Serial, bytes: number) {
        room = bytes;
        if (closed) return;
        try {
          drain();
        } catch (error) {
          options.onError?.(new HalError("io", `serial port ${name}: ${error instanceof Error ? error.message : String(error)}`));
        }
      },
    } as unknown as ConstructorParameters<typeof Serial>[0]);
  } catch (error) {
    throw new HalError("not-found", `serial port ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const opened = uart;
  return {
    get closed() {
      return closed;
    },
    write(data: Uint8Array) {
      if (closed) throw new HalError("closed", `serial port ${name} is closed`);
      if (pendingBytes + data.length > MAX_PENDING_BYTES) throw new HalError("queue-full", `serial port ${name}: ${pendingBytes} bytes still waiting to go out`);
      pending.push(data.slice());
      pendingBytes += data.length;
      try {
        drain();
      } catch (error) {
        options.onError?.(new HalError("io", `serial port ${name}: ${error instanceof Error ? error.message : String(error)}`));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      pending.length = 0;
      opened.close();
    },
  };
}
