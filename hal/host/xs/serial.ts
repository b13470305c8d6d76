import { HalError, type HalErrorCode } from "../../errors.js";
import type { Serial, SerialOptions, SerialPort } from "../../serial.js";
import type { HostBridge } from "./bridge.js";

/**
 * The host's serial port seen from XS: the Node side opens the TTY it was
 * given (FirmwareHostOptions.serialPath) and forwards its bytes as
 * "serial-data" events. Each open gets an id, so that bytes of a port closed
 * meanwhile never reach the next one.
 */
export class BridgedSerial implements Serial {
  private readonly bridge: HostBridge;
  private nextId = 1;
  private current: { id: number; options: SerialOptions; port: { closed: boolean } } | undefined;

  constructor(bridge: HostBridge) {
    this.bridge = bridge;
    bridge.on("serial-data", (header, payload) => {
      const current = this.current;
      if (!current || current.port.closed || header["id"] !== current.id) return;
      current.options.onReceive(payload ?? new Uint8Array(0));
    });
    bridge.on("serial-error", (header) => {
      const current = this.current;
      if (!current || current.port.closed || header["id"] !== current.id) return;
      current.port.closed = true;
      this.current = undefined;
      const code = (header["code"] as HalErrorCode | undefined) ?? "io";
      current.options.onError?.(new HalError(code, String(header["message"] ?? code)));
    });
  }

  open(options: SerialOptions): SerialPort {
    if (this.current && !this.current.port.closed) throw new HalError("busy", "the serial port is already open");
    const id = this.nextId++;
    this.bridge.call("serial-open", { id, baud: options.baud });
    const state = { closed: false };
    this.current = { id, options, port: state };
    const bridge = this.bridge;
    return {
      get closed() {
        return state.closed;
      },
      write(data: Uint8Array) {
        if (state.closed) throw new HalError("closed", "write on a closed serial port");
        bridge.call("serial-write", { id }, data);
      },
      close() {
        if (state.closed) return;
        state.closed = true;
        bridge.call("serial-close", { id });
      },
    };
  }
}
