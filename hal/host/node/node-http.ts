import http from "node:http";
import { describeHttpResponse, parseHttpUrl, rangeRequestHeaders } from "../../common/http-message.js";
import { HalError } from "../../errors.js";
import type { HttpClient, HttpGetOptions, HttpResponseHeaders } from "../../http.js";

/** What a streaming GET reports; every callback runs from Node's event loop, never during get(). */
export interface HttpStreamHandlers {
  onResponse(status: number, headers: HttpResponseHeaders): void;
  onData(chunk: Uint8Array): void;
  /** Exactly once, unless cancel() came first. */
  onEnd(error: HalError | undefined): void;
}

export interface HttpStream {
  /** Stops reading the body (TCP flow control holds the server back). */
  pause(): void;
  resume(): void;
  /** Aborts the request; no callback follows. */
  cancel(): void;
}

/** A refused connection, a name that does not resolve, or another socket failure, as a HalError. */
function socketError(error: NodeJS.ErrnoException, url: string): HalError {
  if (error.code === "ECONNREFUSED") return new HalError("refused", `${url}: connection refused`);
  if (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") return new HalError("dns-failed", `${url}: cannot resolve the host`);
  if (error.code === "EHOSTUNREACH" || error.code === "ENETUNREACH") return new HalError("unreachable", `${url}: host unreachable`);
  return new HalError("io", `${url}: ${error.message}${error.code ? ` (${error.code})` : ""}`);
}

/**
 * GET of an http:// URL with Node's http, from a byte offset (Range, and
 * If-Range with the entity tag), streaming the body. A body cut short (the
 * connection reset, fewer bytes than Content-Length) ends with an "io" error.
 */
export function startHttpGet(request: { url: string; offset?: number; etag?: string }, handlers: HttpStreamHandlers): HttpStream {
  let ended = false;
  const end = (error: HalError | undefined) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(error);
  };
  const target = parseHttpUrl(request.url);
  if (!target) {
    setImmediate(() => end(new HalError("invalid-argument", `not an http:// URL: ${JSON.stringify(request.url)}`)));
    return { pause: () => undefined, resume: () => undefined, cancel: () => void (ended = true) };
  }
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  for (const [name, value] of rangeRequestHeaders(request.offset, request.etag)) headers[name.toLowerCase()] = value;
  let response: http.IncomingMessage | undefined;
  const client = http.get({ host: target.host, port: target.port, path: target.path, headers, agent: false }, (incoming) => {
    response = incoming;
    const described = describeHttpResponse(incoming.statusCode ?? 0, (name) => {
      const value = incoming.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    });
    if (typeof described === "string") {
      client.destroy();
      end(new HalError("io", `${request.url}: ${described}`));
      return;
    }
    handlers.onResponse(incoming.statusCode ?? 0, described);
    if (ended) return;
    incoming.on("data", (chunk: Buffer) => {
      if (!ended) handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    incoming.on("end", () => end(incoming.complete ? undefined : new HalError("io", `${request.url}: the connection closed before the body ended`)));
    incoming.on("error", (error: NodeJS.ErrnoException) => end(new HalError("io", `${request.url}: the body was cut short (${error.code ?? error.message})`)));
    incoming.on("close", () => end(incoming.complete ? undefined : new HalError("io", `${request.url}: the connection closed before the body ended`)));
  });
  client.on("error", (error: NodeJS.ErrnoException) => end(response ? new HalError("io", `${request.url}: the body was cut short (${error.code ?? error.message})`) : socketError(error, request.url)));
  return {
    pause: () => response?.pause(),
    resume: () => response?.resume(),
    cancel: () => {
      ended = true;
      client.destroy();
    },
  };
}

/**
 * Platform.http in Node (createNodePlatform): the HAL contract on
 * startHttpGet. cancel() and an abort (a callback returning false) end the
 * request with a "closed" HalError through onEnd.
 */
export class NodeHttpClient implements HttpClient {
  private readonly active = new Set<HttpStream>();

  get(options: HttpGetOptions): { cancel(): void } {
    let done = false;
    let stream: HttpStream | undefined;
    const finish = (error: HalError | undefined) => {
      if (done) return;
      done = true;
      if (stream) this.active.delete(stream);
      options.onEnd(error);
    };
    const abort = (why: string) => {
      stream?.cancel();
      finish(new HalError("closed", why));
    };
    stream = startHttpGet(
      { url: options.url, ...(options.offset !== undefined ? { offset: options.offset } : {}), ...(options.etag !== undefined ? { etag: options.etag } : {}) },
      {
        onResponse: (status, headers) => {
          if (options.onResponse(status, headers) === false) abort("the response was refused by its receiver");
        },
        onData: (chunk) => {
          if (!done && options.onData(chunk.slice()) === false) abort("the body was refused by its receiver");
        },
        onEnd: finish,
      },
    );
    if (!done) this.active.add(stream);
    return { cancel: () => abort("the request was cancelled") };
  }

  /** Aborts every request still running (the platform closes); their onEnd is not called. */
  closeAll(): void {
    for (const stream of this.active) stream.cancel();
    this.active.clear();
  }
}
