import { HalError, type HalErrorCode } from "../../errors.js";
import { decodeFrame, encodeFrame, type Frame } from "../bridge-frame.js";


export type EventHandler = (header: Frame["header"], payload: Uint8Array | undefined) => void;

/**
 * The XS end of the host bridge. `call` performs one synchronous request on
 * the Node side; `on` receives the events Node delivers through the worker's
 * handleCommand hook, one at a time between runs of the firmware.
 */
export class HostBridge {
  private readonly handlers = new Map<string, EventHandler>();

  constructor() {
    const dispatch = (buffer: ArrayBuffer): ArrayBuffer => {
      const frame = decodeFrame(buffer);
      const type = String(frame.header["ev"]);
      const handler = this.handlers.get(type);
      if (!handler) throw new Error(`no handler for host event "${type}"`);
      handler(frame.header, frame.payload);
      return new ArrayBuffer(0);
    };
    (globalThis as { handleCommand?: unknown }).handleCommand = dispatch;
    // The host measures XS (heap, allocation) with a no-op event: the worker's meter rides on its reply.
    this.handlers.set("ping", () => undefined);
  }

  on(event: string, handler: EventHandler): void {
    this.handlers.set(event, handler);
  }

  call(op: string, args: object = {}, payload?: Uint8Array): Frame {
    const reply = decodeFrame(issueCommand(encodeFrame({ op, ...args }, payload)));
    const error = reply.header["error"] as { code: HalErrorCode; message: string } | undefined;
    if (error) throw new HalError(error.code, error.message);
    return reply;
  }
}
