import http from "node:http";
import type { AddressInfo } from "node:net";

/** A deterministic image: not a multiple of any chunk or block size. */
export function makeImage(length: number): Uint8Array {
  const image = new Uint8Array(length);
  let x = 0x12345678;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    image[i] = x >>> 24;
  }
  return image;
}

export interface FixtureServer {
  readonly base: string;
  readonly image: Uint8Array;
  readonly etag: string;
  /** Requests seen, with their Range and If-Range headers. */
  readonly requests: { path: string; range?: string; ifRange?: string }[];
  /** Connections of /hang that have closed (a cancelled request). */
  hangClosed: number;
  close(): Promise<void>;
}

/**
 * An HTTP server for the host client's tests: /image honours Range and
 * If-Range (206 with Content-Range, or 200 in full), /no-range always answers
 * 200 in full, /missing is a 404, /reset sends part of the body and resets the
 * connection, /hang sends part and waits forever, /bad-206 is a 206 without
 * Content-Range.
 */
export async function startFixtureServer(image: Uint8Array, etag = '"img-v1"'): Promise<FixtureServer> {
  const fixture: { -readonly [K in keyof FixtureServer]: FixtureServer[K] } = { base: "", image, etag, requests: [], hangClosed: 0, close: async () => undefined };
  const body = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const server = http.createServer((request, response) => {
    const range = request.headers["range"];
    const ifRange = request.headers["if-range"];
    fixture.requests.push({ path: request.url ?? "", ...(range ? { range } : {}), ...(typeof ifRange === "string" ? { ifRange } : {}) });
    const full = () => {
      response.writeHead(200, { "content-length": body.length, etag, "accept-ranges": "bytes" });
      response.end(body);
    };
    switch (request.url) {
      case "/image": {
        const match = typeof range === "string" ? /^bytes=(\d+)-$/.exec(range) : null;
        if (!match || (ifRange !== undefined && ifRange !== etag)) return full();
        const start = Number(match[1]);
        if (start >= body.length) {
          response.writeHead(416, { "content-range": `bytes */${body.length}` });
          return response.end();
        }
        response.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}`, etag });
        return response.end(body.subarray(start));
      }
      case "/no-range":
        return full();
      case "/missing":
        response.writeHead(404, { "content-type": "text/plain", "content-length": 8 });
        return response.end("not here");
      case "/bad-206":
        response.writeHead(206, { "content-length": 4 });
        return response.end("abcd");
      case "/reset":
        response.writeHead(200, { "content-length": body.length, etag });
        response.write(body.subarray(0, 65536), () => {
          const socket = request.socket as typeof request.socket & { resetAndDestroy?: () => void };
          if (socket.resetAndDestroy) socket.resetAndDestroy();
          else socket.destroy();
        });
        return;
      case "/hang":
        response.writeHead(200, { "content-length": body.length, etag });
        response.write(body.subarray(0, 32768));
        request.socket.on("close", () => fixture.hangClosed++);
        return;
      default:
        response.writeHead(404);
        response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  fixture.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fixture.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fixture;
}
