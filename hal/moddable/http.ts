import { Request } from "http";
import { describeHttpResponse, HTTP_PORT, parseHttpUrl, rangeRequestHeaders } from "../common/http-message.js";
import { HalError } from "../errors.js";
import type { HttpClient, HttpGetOptions } from "../http.js";
import { isNumericAddress } from "../net.js";

/** The response headers the contract reports; others are not kept. */
const KEPT_HEADERS = Object.freeze(["content-length", "content-range", "etag"]);

/**
 * Platform.http on the Moddable SDK's http module (modules/network/http, on
 * its socket module: ESP32 and the simulator). A GET with Range/If-Range
 * when resuming; the body goes to onData fragment by fragment as the socket
 * delivers it, never gathered. Every outcome reaches onEnd once: the end of
 * the body, "io" (a connection lost, a body cut short), "invalid-argument"
 * (not an http:// URL), or "closed" after cancel() (onEnd before cancel()
 * returns) or a callback returning false.
 */
export class ModdableHttp implements HttpClient {
  get(options: HttpGetOptions): { cancel(): void } {
    let ended = false;
    let request: Request | undefined;
    const finish = (error: HalError | undefined) => {
      if (ended) return;
      ended = true;
      const open = request;
      request = undefined;
      open?.close();
      options.onEnd(error);
    };
    const handle = { cancel: () => finish(new HalError("closed", "the request was cancelled")) };
    const later = (error: HalError) => void Promise.resolve().then(() => finish(error));
    const target = parseHttpUrl(options.url);
    if (!target) {
      later(new HalError("invalid-argument", `not an http:// URL: ${JSON.stringify(options.url)}`));
      return handle;
    }
    const hostHeader = target.host.indexOf(":") >= 0 ? `[${target.host}]` : target.host;
    const headers: string[] = ["Host", target.port === HTTP_PORT ? hostHeader : `${hostHeader}:${target.port}`];
    for (const [name, value] of rangeRequestHeaders(options.offset, options.etag)) headers.push(name, value);
    let status = 0;
    const received: { [name: string]: string } = {};
    try {
      request = new Request({ ...(isNumericAddress(target.host) ? { address: target.host } : { host: target.host }), port: target.port, path: target.path, headers });
    } catch (error) {
      later(new HalError("io", `${options.url}: ${String(error)}`));
      return handle;
    }
    request.callback = function (this: Request, message: number, value?: unknown, extra?: unknown): void {
      if (ended) return;
      if (message === Request.status) status = value as number;
      else if (message === Request.header) {
        const name = String(value);
        if (KEPT_HEADERS.indexOf(name) >= 0) received[name] = String(extra);
      } else if (message === Request.headersComplete) {
        const described = describeHttpResponse(status, (name) => received[name]);
        if (typeof described === "string") finish(new HalError("io", `${options.url}: ${described}`));
        else if (options.onResponse(status, described) === false) finish(new HalError("closed", "the response was refused by its receiver"));
      } else if (message === Request.responseFragment) {
        const bytes = new Uint8Array(this.read(ArrayBuffer, value as number));
        if (options.onData(bytes) === false) finish(new HalError("closed", "the body was refused by its receiver"));
      } else if (message === Request.responseComplete) finish(undefined);
      else if (message === Request.error) finish(new HalError("io", `${options.url}: the connection failed or closed before the body ended`));
    };
    return handle;
  }
}

/** Module "hal/moddable/http": the client where the SDK's http module is built in (hal/moddable/no-http elsewhere). */
export const moddableHttp: HttpClient | undefined = new ModdableHttp();
