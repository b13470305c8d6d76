import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { crc32 } from "../../hal/common/crc32.js";
import { parseContentRange, parseHttpUrl, rangeRequestHeaders } from "../../hal/common/http-message.js";
import { isHalError } from "../../hal/errors.js";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { HttpBridge } from "../../hal/host/node/http-bridge.js";
import { NodeHttpClient } from "../../hal/host/node/node-http.js";
import type { HttpGetOptions, HttpResponseHeaders } from "../../hal/http.js";
import { makeImage, startFixtureServer, type FixtureServer } from "./http-fixture.js";

/**
 * Platform.http on the host: the Node client (full GET, resume with Range and
 * If-Range, a 200 instead of a 206, 404, a connection reset mid-body, cancel),
 * the bridge's flow control, and the XS side through an entry module.
 */
const IMAGE = makeImage(1024 * 1024 + 123);
let fixture: FixtureServer;
beforeAll(async () => {
  fixture = await startFixtureServer(IMAGE);
});
afterAll(() => fixture.close());

interface Outcome {
  status: number;
  headers: HttpResponseHeaders | undefined;
  body: Uint8Array;
  chunks: number;
  error: Error | undefined;
  ends: number;
}

function get(client: NodeHttpClient, options: Omit<HttpGetOptions, "onResponse" | "onData" | "onEnd"> & { cancelAfter?: number; refuse?: boolean }): Promise<Outcome> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    const outcome: Outcome = { status: 0, headers: undefined, body: new Uint8Array(0), chunks: 0, error: undefined, ends: 0 };
    let received = 0;
    const handle = client.get({
      ...options,
      onResponse: (status, headers) => {
        outcome.status = status;
        outcome.headers = headers;
        return options.refuse ? false : undefined;
      },
      onData: (data) => {
        parts.push(data);
        outcome.chunks++;
        received += data.length;
        if (options.cancelAfter !== undefined && received >= options.cancelAfter) handle.cancel();
      },
      onEnd: (error) => {
        outcome.ends++;
        outcome.error = error;
        outcome.body = Buffer.concat(parts);
        // A second onEnd would show in `ends` when the test looks after a turn of the event loop.
        setImmediate(() => resolve(outcome));
      },
    });
  });
}

describe("HTTP message helpers", () => {
  test("URLs, Range headers, Content-Range", () => {
    expect(parseHttpUrl("http://example.com/fw/a.bin?x=1")).toEqual({ host: "example.com", port: 80, path: "/fw/a.bin?x=1" });
    expect(parseHttpUrl("HTTP://10.0.0.1:8080")).toEqual({ host: "10.0.0.1", port: 8080, path: "/" });
    expect(parseHttpUrl("http://[::1]:81/x")).toEqual({ host: "::1", port: 81, path: "/x" });
    for (const bad of ["https://a/x", "coap://a/x", "http://", "http://a:0/", "http://a:70000/", "http://u@a/", "http://a b/"]) expect(parseHttpUrl(bad)).toBeUndefined();
    expect(rangeRequestHeaders(0, '"e"')).toEqual([]);
    expect(rangeRequestHeaders(100, undefined)).toEqual([["Range", "bytes=100-"]]);
    expect(rangeRequestHeaders(100, '"e"')).toEqual([["Range", "bytes=100-"], ["If-Range", '"e"']]);
    expect(parseContentRange("bytes 10-19/20")).toEqual({ first: 10, last: 19, total: 20 });
    expect(parseContentRange("bytes 10-19/*")).toEqual({ first: 10, last: 19, total: undefined });
    expect(parseContentRange("bytes 10-9/20")).toBeUndefined();
    expect(parseContentRange("items 1-2/3")).toBeUndefined();
  });
});

describe("the host HTTP client (Node)", () => {
  const client = new NodeHttpClient();
  afterAll(() => client.closeAll());

  test("a full GET: status, length, entity tag, every byte", async () => {
    const outcome = await get(client, { url: `${fixture.base}/image` });
    expect(outcome.status).toBe(200);
    expect(outcome.headers).toEqual({ contentLength: IMAGE.length, rangeStart: 0, etag: fixture.etag });
    expect(outcome.error).toBeUndefined();
    expect(outcome.ends).toBe(1);
    expect(Buffer.compare(outcome.body, IMAGE)).toBe(0);
  });

  test("a resumed GET: Range and If-Range, 206 from the offset with the total", async () => {
    const offset = 500000;
    const outcome = await get(client, { url: `${fixture.base}/image`, offset, etag: fixture.etag });
    expect(fixture.requests[fixture.requests.length - 1]).toEqual({ path: "/image", range: `bytes=${offset}-`, ifRange: fixture.etag });
    expect(outcome.status).toBe(206);
    expect(outcome.headers).toEqual({ contentLength: IMAGE.length - offset, totalLength: IMAGE.length, rangeStart: offset, etag: fixture.etag });
    expect(Buffer.compare(outcome.body, IMAGE.subarray(offset))).toBe(0);
  });

  test("a changed entity tag, or a server without ranges: 200 from byte 0", async () => {
    const changed = await get(client, { url: `${fixture.base}/image`, offset: 1000, etag: '"older"' });
    expect(changed.status).toBe(200);
    expect(changed.headers?.rangeStart).toBe(0);
    expect(Buffer.compare(changed.body, IMAGE)).toBe(0);
    const plain = await get(client, { url: `${fixture.base}/no-range`, offset: 1000 });
    expect(fixture.requests[fixture.requests.length - 1]).toEqual({ path: "/no-range", range: "bytes=1000-" });
    expect(plain.status).toBe(200);
    expect(plain.headers?.rangeStart).toBe(0);
    expect(plain.body.length).toBe(IMAGE.length);
  });

  test("404: the status and its body, then a normal end; a receiver may refuse it", async () => {
    const missing = await get(client, { url: `${fixture.base}/missing` });
    expect(missing.status).toBe(404);
    expect(Buffer.from(missing.body).toString()).toBe("not here");
    expect(missing.error).toBeUndefined();
    const refused = await get(client, { url: `${fixture.base}/missing`, refuse: true });
    expect(refused.body.length).toBe(0);
    expect(isHalError(refused.error, "closed")).toBe(true);
    expect(refused.ends).toBe(1);
  });

  test("a connection reset mid-body ends with an io error after the bytes that came", async () => {
    const outcome = await get(client, { url: `${fixture.base}/reset` });
    expect(outcome.status).toBe(200);
    expect(isHalError(outcome.error, "io")).toBe(true);
    expect(outcome.ends).toBe(1);
    expect(outcome.body.length).toBeLessThan(IMAGE.length);
    expect(Buffer.compare(outcome.body, IMAGE.subarray(0, outcome.body.length))).toBe(0);
  });

  test("cancel: onEnd once with closed, and the connection is closed", async () => {
    const before = fixture.hangClosed;
    const outcome = await get(client, { url: `${fixture.base}/hang`, cancelAfter: 1 });
    expect(isHalError(outcome.error, "closed")).toBe(true);
    expect(outcome.ends).toBe(1);
    while (fixture.hangClosed === before) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  test("refused connections, bad URLs and a 206 without Content-Range are errors", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const free = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(free));
      });
    });
    expect((await get(client, { url: `http://127.0.0.1:${port}/x` })).error).toMatchObject({ code: "refused" });
    expect((await get(client, { url: "ftp://127.0.0.1/x" })).error).toMatchObject({ code: "invalid-argument" });
    const bad = await get(client, { url: `${fixture.base}/bad-206` });
    expect(bad.error).toMatchObject({ code: "io" });
    expect(bad.status).toBe(0);
  });
});

describe("the bridge's flow control", () => {
  test("never more than the window unacknowledged; chunks at most chunkBytes; the end after the last byte", async () => {
    const windowBytes = 8192;
    const chunkBytes = 1000;
    const acks: (() => void)[] = [];
    let unacked = 0;
    let largestUnacked = 0;
    let largestChunk = 0;
    const parts: Uint8Array[] = [];
    let ended: { code?: string } | undefined;
    let bridge: HttpBridge;
    const finished = new Promise<void>((resolve) => {
      bridge = new HttpBridge(
        (header: { ev?: string; code?: string }, payload?: Uint8Array) => {
          if (header.ev === "http-data") {
            expect(ended).toBeUndefined();
            unacked += payload!.length;
            largestUnacked = Math.max(largestUnacked, unacked);
            largestChunk = Math.max(largestChunk, payload!.length);
            parts.push(payload!.slice());
            const bytes = payload!.length;
            acks.push(() => {
              unacked -= bytes;
              bridge.perform("http-ack", { id: 1, bytes });
            });
          } else if (header.ev === "http-end") {
            ended = header;
            resolve();
          }
        },
        { windowBytes, chunkBytes },
      );
    });
    bridge!.perform("http-get", { id: 1, url: `${fixture.base}/image` });
    // The receiver is slow: it acknowledges one chunk per turn of the event loop.
    const drain = setInterval(() => acks.shift()?.(), 0);
    await finished;
    clearInterval(drain);
    expect(ended).toEqual({ ev: "http-end", id: 1 });
    expect(largestUnacked).toBeLessThanOrEqual(windowBytes);
    expect(largestChunk).toBeLessThanOrEqual(chunkBytes);
    expect(Buffer.compare(Buffer.concat(parts), IMAGE)).toBe(0);
    expect(bridge!.open).toBe(0);
    expect(() => {
      for (let id = 10; id < 20; id++) bridge.perform("http-get", { id, url: `${fixture.base}/hang` });
    }).toThrow(/busy|already open/);
    bridge!.shutdown();
    expect(bridge!.open).toBe(0);
  });
});

describe("Platform.http inside XS", () => {
  test("full, resumed, 200-for-206, 404, reset, cancel and refused GETs from the firmware", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-http-"));
    const results: Record<string, unknown>[] = [];
    let done = false;
    const cases = [
      { url: `${fixture.base}/image` },
      { url: `${fixture.base}/image`, offset: 700001, etag: fixture.etag },
      { url: `${fixture.base}/no-range`, offset: 4096, etag: fixture.etag },
      { url: `${fixture.base}/missing` },
      { url: `${fixture.base}/reset` },
      { url: `${fixture.base}/hang`, cancelAfter: 10000 },
      { url: `${fixture.base}/missing`, refuseStatus: 404 },
      { url: "https://127.0.0.1/x" },
    ];
    const host = new FirmwareHost({
      stateDir,
      entry: path.join(BUILD_ROOT, "test", "xs", "http-entry.js"),
      config: { cases: JSON.stringify(cases) },
      writeLine: () => undefined,
      onRequest: (op, header) => {
        if (op === "http-result") results.push(header as Record<string, unknown>);
        else if (op === "http-done") done = true;
        else return undefined;
        return { header: {} };
      },
    });
    try {
      await host.start();
      const deadline = Date.now() + 20000;
      while (!done && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      await host.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    expect(results.map((result) => result["index"])).toEqual(cases.map((_, index) => index));
    for (const result of results) expect(result["ends"]).toBe(1);
    const [full, resumed, noRange, missing, reset, cancelled, refused, https] = results as Record<string, any>[];
    expect(full).toMatchObject({ status: 200, bytes: IMAGE.length, crc: crc32(IMAGE), headers: { contentLength: IMAGE.length, rangeStart: 0, etag: fixture.etag } });
    expect(full!["code"]).toBeUndefined();
    expect(full!["largest"]).toBeLessThanOrEqual(4096);
    expect(resumed).toMatchObject({ status: 206, bytes: IMAGE.length - 700001, crc: crc32(IMAGE.subarray(700001)), headers: { rangeStart: 700001, totalLength: IMAGE.length } });
    expect(noRange).toMatchObject({ status: 200, bytes: IMAGE.length, headers: { rangeStart: 0 } });
    expect(missing).toMatchObject({ status: 404, bytes: 8 });
    expect(reset).toMatchObject({ status: 200, code: "io" });
    expect(reset!["bytes"]).toBeLessThan(IMAGE.length);
    expect(cancelled).toMatchObject({ status: 200, code: "closed" });
    expect(cancelled!["bytes"]).toBeGreaterThanOrEqual(10000);
    expect(cancelled!["bytes"]).toBeLessThan(32768 + 1);
    expect(refused).toMatchObject({ status: 404, bytes: 0, code: "closed" });
    expect(https).toMatchObject({ status: 0, code: "invalid-argument" });
  });
});
