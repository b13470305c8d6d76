import type http from "node:http";
import type { FotaService } from "./fota-service.js";
import { ImageError, type HostedImage } from "./image-store.js";

/** Bytes written to a response at a time, each after the previous one drained. */
const WRITE_BYTES = 64 * 1024;

function json(response: http.ServerResponse, status: number, body: unknown, extra: http.OutgoingHttpHeaders = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, { "content-type": "application/json", ...extra });
  response.end(JSON.stringify(body));
}

/**
 * The byte range a GET asks for: `bytes=first-[last]` or `bytes=-suffix`,
 * one range only (several are answered in full, as RFC 9110 §14.2 allows).
 * "unsatisfiable" when it starts past the end.
 */
export function requestedRange(header: string | undefined, total: number): { start: number; end: number } | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$/i.exec(header);
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, total - suffix), end: total };
  }
  const start = Number(match[1]);
  const last = match[2] === "" ? total - 1 : Math.min(Number(match[2]), total - 1);
  if (start >= total) return "unsatisfiable";
  if (last < start) return undefined;
  return { start, end: last + 1 };
}

/** Reads a request body of at most `limit` bytes; undefined (after answering 413) when it is larger. */
function readBody(request: http.IncomingMessage, response: http.ServerResponse, limit: number): Promise<Uint8Array | undefined> {
  const tooLarge = () => {
    json(response, 413, { error: `an image is at most ${limit} bytes` }, { connection: "close" });
    // The rest of the body is read and dropped, so the client gets the answer rather than a reset.
    request.resume();
  };
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    tooLarge();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        request.off("data", onData);
        tooLarge();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    request.on("data", onData);
    request.on("end", () => {
      if (!refused) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    request.on("error", reject);
  });
}

/** Sends bytes start..end of an image, a chunk at a time, reporting each chunk's end once it has been written. */
function sendBody(response: http.ServerResponse, image: HostedImage, start: number, end: number, written: (end: number) => void): void {
  let at = start;
  const next = () => {
    while (at < end) {
      const stop = Math.min(at + WRITE_BYTES, end);
      const chunk = image.bytes.subarray(at, stop);
      at = stop;
      const more = response.write(chunk, (error) => {
        if (!error) written(stop);
      });
      if (!more) return void response.once("drain", next);
    }
    response.end();
  };
  response.on("close", () => (at = end));
  next();
}

/**
 * The image routes of the HTTP API:
 *
 *   GET    /images              [{name, size, etag, version?, packageName?, storedAt}]
 *   PUT    /images/NAME         body: the package bytes (at most --max-image-bytes; 413 above) → 201 {name, size, etag, ...}
 *   GET    /images/NAME         the image; Range: bytes=N- (or N-M, -S) → 206 with Content-Range; If-Range with the ETag;
 *   HEAD   /images/NAME         an unsatisfiable range → 416
 *   DELETE /images/NAME
 *
 * Returns false for any other path.
 */
export async function routeImages(fota: FotaService, request: http.IncomingMessage, response: http.ServerResponse, parts: readonly string[]): Promise<boolean> {
  if (parts[0] !== "images" || parts.length > 2) return false;
  const method = request.method ?? "GET";
  const store = fota.store;
  if (parts.length === 1) {
    if (method === "GET") json(response, 200, store.list());
    else json(response, 405, { error: `${method} /images: use GET` });
    return true;
  }
  const name = parts[1]!;
  if (method === "PUT") {
    const body = await readBody(request, response, store.maxImageBytes);
    if (!body) return true;
    try {
      store.put(name, body);
      json(response, 201, store.list().find((image) => image.name === name));
    } catch (error) {
      json(response, error instanceof ImageError ? error.status : 500, { error: (error as Error).message });
    }
    return true;
  }
  if (method === "DELETE") {
    const deleted = store.delete(name);
    json(response, deleted ? 200 : 404, deleted ? { deleted: name } : { error: `no image "${name}"` });
    return true;
  }
  if (method !== "GET" && method !== "HEAD") {
    json(response, 405, { error: `${method} /images/${name}: use GET, HEAD, PUT or DELETE` });
    return true;
  }
  const image = store.get(name);
  if (!image) {
    json(response, 404, { error: `no image "${name}"` });
    return true;
  }
  const total = image.bytes.length;
  const ifRange = request.headers["if-range"];
  // If-Range: the range only for the same image (a strong tag compared strongly; a date never matches).
  const honoured = ifRange === undefined || String(ifRange).trim() === image.httpEtag;
  const range = honoured ? requestedRange(request.headers["range"], total) : undefined;
  const headers: http.OutgoingHttpHeaders = { "content-type": "application/octet-stream", etag: image.httpEtag, "accept-ranges": "bytes", "cache-control": "no-cache" };
  if (range === "unsatisfiable") {
    response.writeHead(416, { ...headers, "content-range": `bytes */${total}` });
    response.end();
    return true;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? total;
  response.writeHead(range ? 206 : 200, { ...headers, "content-length": end - start, ...(range ? { "content-range": `bytes ${start}-${end - 1}/${total}` } : {}) });
  if (method === "HEAD" || start === end) {
    response.end();
    return true;
  }
  const remote = { address: request.socket.remoteAddress ?? "?", port: request.socket.remotePort ?? 0 };
  sendBody(response, image, start, end, (written) => fota.servedOverHttp(remote, image, written));
  return true;
}
