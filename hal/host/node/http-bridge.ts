import { HalError } from "../../errors.js";
import { startHttpGet, type HttpStream } from "./node-http.js";

/** Sends an event to the firmware in XS. */
export type EmitEvent = (header: object, payload?: Uint8Array) => void;

export interface HttpBridgeLimits {
  /** Largest body chunk in one "http-data" event (default 4096). */
  readonly chunkBytes?: number;
  /** Body bytes sent to XS and not yet acknowledged, at most (default 16384). */
  readonly windowBytes?: number;
  /** Requests open at once (default 4); another gets a "busy" error. */
  readonly maxRequests?: number;
}

interface Transfer {
  readonly stream: HttpStream;
  /** Body bytes received from the server, not yet sent to XS. */
  readonly pending: Uint8Array[];
  pendingBytes: number;
  /** Sent to XS, not yet acknowledged with "http-ack". */
  inFlight: number;
  paused: boolean;
  /** The response ended (error or not) while bytes were still pending: sent after them. */
  end: { ended: true; error: HalError | undefined } | undefined;
}

/**
 * Platform.http for the firmware in XS, on the Node side of the bridge. XS
 * asks with "http-get" {id, url, offset?, etag?}; Node answers with the
 * events "http-response" {id, status, contentLength?, totalLength?,
 * rangeStart, etag?}, "http-data" {id} + bytes, and "http-end" {id[, code,
 * message]}. XS acknowledges each chunk it has consumed ("http-ack" {id,
 * bytes}): no more than windowBytes are ever waiting in the worker's queue or
 * in XS, and the server is held back by TCP flow control meanwhile. "http-
 * cancel" {id} aborts a request.
 */
export class HttpBridge {
  private readonly emit: EmitEvent;
  private readonly chunkBytes: number;
  private readonly windowBytes: number;
  private readonly maxRequests: number;
  private readonly transfers = new Map<number, Transfer>();

  constructor(emit: EmitEvent, limits: HttpBridgeLimits = {}) {
    this.emit = emit;
    this.chunkBytes = limits.chunkBytes ?? 4096;
    this.windowBytes = limits.windowBytes ?? 16384;
    this.maxRequests = limits.maxRequests ?? 4;
  }

  /** Requests open now. */
  get open(): number {
    return this.transfers.size;
  }

  /** Handles "http-get", "http-ack" and "http-cancel"; false for any other op. */
  perform(op: string, header: { readonly [key: string]: unknown }): boolean {
    const id = header["id"] as number;
    switch (op) {
      case "http-get":
        this.get(id, String(header["url"] ?? ""), header["offset"] as number | undefined, header["etag"] as string | undefined);
        return true;
      case "http-ack": {
        const transfer = this.transfers.get(id);
        if (!transfer) return true; // ended or cancelled meanwhile
        transfer.inFlight = Math.max(0, transfer.inFlight - ((header["bytes"] as number) || 0));
        this.pump(id, transfer);
        return true;
      }
      case "http-cancel":
        this.transfers.get(id)?.stream.cancel();
        this.transfers.delete(id);
        return true;
      default:
        return false;
    }
  }

  /** Aborts every request (the firmware stops or restarts). */
  shutdown(): void {
    for (const transfer of this.transfers.values()) transfer.stream.cancel();
    this.transfers.clear();
  }

  private get(id: number, url: string, offset: number | undefined, etag: string | undefined): void {
    if (!Number.isInteger(id)) throw new HalError("invalid-argument", "http-get needs an integer id");
    if (this.transfers.has(id)) throw new HalError("invalid-argument", `HTTP request ${id} is already open`);
    if (this.transfers.size >= this.maxRequests) throw new HalError("busy", `${this.maxRequests} HTTP requests are already open`);
    const transfer: Transfer = {
      stream: startHttpGet(
        { url, ...(offset !== undefined ? { offset } : {}), ...(etag !== undefined ? { etag } : {}) },
        {
          onResponse: (status, headers) => this.emit({ ev: "http-response", id, status, ...headers }),
          onData: (chunk) => {
            transfer.pending.push(chunk.slice());
            transfer.pendingBytes += chunk.length;
            this.pump(id, transfer);
          },
          onEnd: (error) => {
            transfer.end = { ended: true, error };
            this.pump(id, transfer);
          },
        },
      ),
      pending: [],
      pendingBytes: 0,
      inFlight: 0,
      paused: false,
      end: undefined,
    };
    this.transfers.set(id, transfer);
  }

  /** Sends what the window allows, then the end once every byte has gone; holds the server back while XS is behind. */
  private pump(id: number, transfer: Transfer): void {
    if (this.transfers.get(id) !== transfer) return;
    while (transfer.pendingBytes > 0 && transfer.inFlight < this.windowBytes) {
      const head = transfer.pending[0]!;
      const size = Math.min(head.length, this.chunkBytes, this.windowBytes - transfer.inFlight);
      const chunk = head.subarray(0, size);
      if (size === head.length) transfer.pending.shift();
      else transfer.pending[0] = head.subarray(size);
      transfer.pendingBytes -= size;
      transfer.inFlight += size;
      this.emit({ ev: "http-data", id }, chunk);
    }
    if (transfer.pendingBytes === 0 && transfer.end) {
      this.transfers.delete(id);
      const error = transfer.end.error;
      this.emit(error ? { ev: "http-end", id, code: error.code, message: error.message.replace(/^[a-z-]+: /, "") } : { ev: "http-end", id });
      return;
    }
    const behind = transfer.pendingBytes > 0 || transfer.inFlight >= this.windowBytes;
    if (behind && !transfer.paused) {
      transfer.paused = true;
      transfer.stream.pause();
    } else if (!behind && transfer.paused) {
      transfer.paused = false;
      transfer.stream.resume();
    }
  }
}
