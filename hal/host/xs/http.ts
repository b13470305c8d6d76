import { parseHttpUrl } from "../../common/http-message.js";
import { HalError, type HalErrorCode } from "../../errors.js";
import type { HttpClient, HttpGetOptions, HttpResponseHeaders } from "../../http.js";
import type { HostBridge } from "./bridge.js";

interface Request {
  readonly options: HttpGetOptions;
  responded: boolean;
}

/**
 * Platform.http on the host, seen from XS: Node performs the GET
 * (hal/host/node/http-bridge.ts) and streams the body here in chunks; each
 * chunk is acknowledged once onData has taken it, so at most a window of
 * bytes (16 KiB) waits for XS at any time.
 *
 * Every outcome reaches onEnd exactly once: the end of the body, a failure
 * (HalError: "io" for a body cut short, "refused", "dns-failed",
 * "invalid-argument" for a URL that is not http://, "busy" with 4 requests
 * open), or "closed" when cancel() or a callback returning false ended it;
 * cancel() calls onEnd before it returns. A URL or bridge failure reaches
 * onEnd from a promise job, after get() has returned.
 */
export class BridgedHttp implements HttpClient {
  private readonly bridge: HostBridge;
  private readonly requests = new Map<number, Request>();
  private nextId = 1;

  constructor(bridge: HostBridge) {
    this.bridge = bridge;
    bridge.on("http-response", (header) => {
      const id = header["id"] as number;
      const request = this.requests.get(id);
      if (!request || request.responded) return;
      request.responded = true;
      const headers: HttpResponseHeaders = {
        ...(typeof header["contentLength"] === "number" ? { contentLength: header["contentLength"] } : {}),
        ...(typeof header["totalLength"] === "number" ? { totalLength: header["totalLength"] } : {}),
        rangeStart: (header["rangeStart"] as number | undefined) ?? 0,
        ...(typeof header["etag"] === "string" ? { etag: header["etag"] } : {}),
      };
      if (request.options.onResponse(header["status"] as number, headers) === false) this.abort(id, "the response was refused by its receiver");
    });
    bridge.on("http-data", (header, payload) => {
      const id = header["id"] as number;
      const request = this.requests.get(id);
      if (!request) return;
      const data = payload ?? new Uint8Array(0);
      if (request.options.onData(data) === false) return this.abort(id, "the body was refused by its receiver");
      // onData may have cancelled the request itself.
      if (this.requests.has(id)) this.bridge.call("http-ack", { id, bytes: data.length });
    });
    bridge.on("http-end", (header) => {
      const id = header["id"] as number;
      const request = this.requests.get(id);
      if (!request) return;
      this.requests.delete(id);
      const code = header["code"] as HalErrorCode | undefined;
      request.options.onEnd(code ? new HalError(code, String(header["message"] ?? code)) : undefined);
    });
  }

  get(options: HttpGetOptions): { cancel(): void } {
    const id = this.nextId++;
    this.requests.set(id, { options, responded: false });
    const handle = { cancel: () => this.abort(id, "the request was cancelled") };
    if (!parseHttpUrl(options.url)) {
      this.failLater(id, new HalError("invalid-argument", `not an http:// URL: ${JSON.stringify(options.url)}`));
      return handle;
    }
    try {
      this.bridge.call("http-get", { id, url: options.url, ...(options.offset ? { offset: options.offset } : {}), ...(options.etag !== undefined ? { etag: options.etag } : {}) });
    } catch (error) {
      this.failLater(id, error instanceof HalError ? error : new HalError("io", String(error)));
    }
    return handle;
  }

  /** Requests that have not ended. */
  get open(): number {
    return this.requests.size;
  }

  private abort(id: number, why: string): void {
    const request = this.requests.get(id);
    if (!request) return;
    this.requests.delete(id);
    this.bridge.call("http-cancel", { id });
    request.options.onEnd(new HalError("closed", why));
  }

  private failLater(id: number, error: HalError): void {
    void Promise.resolve().then(() => {
      const request = this.requests.get(id);
      if (!request) return;
      this.requests.delete(id);
      request.options.onEnd(error);
    });
  }
}
