/**
 * Plumbing of the HTTP API: request bodies within a limit (413 beyond it,
 * answered rather than cutting the connection), and the HTTP status of each
 * kind of failure (504 for a device that did not answer in time).
 */
import type http from "node:http";
import { CoapError } from "../../modules/coap/errors.js";
import { RequestAbandoned } from "./request-queue.js";

/** Largest JSON body taken. */
export const MAX_BODY = 64 * 1024;
/** A body over the limit without a Content-Length is read and dropped up to this much, then the connection is closed. */
const MAX_DISCARDED = 16 * MAX_BODY;

/** A failure with its HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    Object.defineProperty(this, "name", { value: "HttpError", writable: true, configurable: true });
  }
}

/**
 * The HTTP status for an error thrown by a route: its own for an HttpError;
 * 504 when the device did not answer in time; 503 when a limit was reached
 * or the server is closing; 502 when the device answered with something the
 * exchange could not take (RST, a bad block); 404 when the client is gone;
 * 400 for everything else (bad input).
 */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof RequestAbandoned) return error.reason === "deregistered" ? 404 : 503;
  if (error instanceof CoapError) {
    switch (error.kind) {
      case "timeout":
        return 504;
      case "limit":
      case "cancelled":
        return 503;
      case "reset":
      case "protocol":
      case "transport":
        return 502;
      case "too-large":
        return 413;
    }
  }
  return 400;
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/**
 * Reads a JSON object body of at most MAX_BODY bytes. A larger one is
 * refused with HttpError 413: at once when its Content-Length says so (the
 * rest is drained as the answer goes out), else once it has been read to its
 * end (and dropped), so the client gets the answer rather than a reset.
 */
export function readJson(request: http.IncomingMessage, limit = MAX_BODY): Promise<Record<string, unknown>> {
  const tooLarge = () => new HttpError(413, `the request body is over ${limit} bytes`);
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        chunks.length = 0;
        if (size > MAX_DISCARDED) {
          request.destroy();
          reject(tooLarge());
        }
      }
    });
    request.on("error", reject);
    request.on("end", () => {
      if (size > limit) return reject(tooLarge());
      if (chunks.length === 0) return resolve({});
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the body must be a JSON object");
        resolve(parsed as Record<string, unknown>);
      } catch (error) {
        reject(new HttpError(400, `bad JSON body: ${(error as Error).message}`));
      }
    });
  });
}
