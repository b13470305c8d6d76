import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createHash } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { NodeHttpClient } from "../../hal/host/node/node-http.js";
import { download } from "../../modules/coap/blockwise-client.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import type { FotaEvent } from "../../tools/dev-server/fota/events.js";
import { fotaCommand } from "../../tools/dev-server/fota/fota-cli.js";
import { ProgressDisplay } from "../../tools/dev-server/fota/progress-display.js";
import { ProgressTracker, type ProgressReport } from "../../tools/dev-server/fota/progress.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";
import { ScriptedDevice } from "./fota-scripted-device.js";
import { makeImage } from "./http-fixture.js";

/**
 * The development server's firmware updates: images hosted over CoAP Block2
 * (ETag, Size2, resume) and HTTP (Range, If-Range), progress events bounded,
 * the upload limit, and update jobs (pull over CoAP and HTTP, push by Block1,
 * failures, autoUpdate off) against a scripted device.
 */
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-fota-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
const MAX_IMAGE = 1536 * 1024;
const BIG = makeImage(1024 * 1024);
const SMALL = makeImage(60 * 1024 + 7);
const etagOf = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest().subarray(0, 8).toString("hex");

let server: LwM2mDevServer;
let httpServer: http.Server;
let base = "";
const events: ServerEvent[] = [];
const cleanups: (() => unknown)[] = [];
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits for a condition; the deadline only keeps a broken test from hanging. */
async function until(condition: () => boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}
const fotaEvents = <T extends FotaEvent["type"]>(type: T) => events.filter((event): event is Extract<ServerEvent, { type: T }> => event.type === type);

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${route}`, { method, ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
  return { status: response.status, json: await response.json() };
}

beforeAll(async () => {
  server = new LwM2mDevServer({ platform, port: 0, fota: { maxImageBytes: MAX_IMAGE }, autoObserve: [] });
  server.on("event", (event: ServerEvent) => events.push(event));
  await until(() => server.port > 0, "the CoAP port");
  httpServer = await startHttpApi(server, 0);
  base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  httpServer.close();
  server.close();
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("hosting images", () => {
  test("upload and list; over the limit is 413; bad names 400", async () => {
    for (const [name, bytes] of [["big.bin", BIG], ["small.bin", SMALL]] as const) {
      const put = await fetch(`${base}/images/${name}`, { method: "PUT", body: bytes });
      expect(put.status).toBe(201);
      expect(await put.json()).toMatchObject({ name, size: bytes.length, etag: `"${etagOf(bytes)}"` });
    }
    expect((await api("GET", "/images")).json.map((image: { name: string }) => image.name)).toEqual(["big.bin", "small.bin"]);
    const tooLarge = await fetch(`${base}/images/huge.bin`, { method: "PUT", body: new Uint8Array(MAX_IMAGE + 1) });
    expect(tooLarge.status).toBe(413);
    expect((await api("GET", "/images")).json).toHaveLength(2);
    expect((await fetch(`${base}/images/..bad`, { method: "PUT", body: new Uint8Array(4) })).status).toBe(400);
  });

  test("CoAP Block2: a 1 MiB image to download() with ETag and Size2; a resume from block N; past the end 4.02; 404", async () => {
    const client = new CoapEndpoint({ transport: new UdpTransport(platform.net), time: platform.time, random: platform.random });
    cleanups.push(() => client.close());
    const peer = { address: "127.0.0.1", port: server.port };
    const fetchFrom = (startBlock: number, expectedEtag?: Uint8Array) =>
      new Promise<{ bytes: Uint8Array; etag?: Uint8Array; size?: number; first: number }>((resolve, reject) => {
        const parts: Uint8Array[] = [];
        let first = -1;
        let size: number | undefined;
        download(client, { peer, path: "/fw/big.bin", startBlock, ...(expectedEtag ? { expectedEtag } : {}), onBlock: (offset, data, _more, info) => {
          if (first < 0) first = offset;
          size = info.size;
          parts.push(data.slice());
        } }, (error, result) => (error ? reject(error) : resolve({ bytes: Buffer.concat(parts), etag: result!.etag, size, first })));
      });
    const progressBefore = fotaEvents("fota-progress").length;
    const started = Date.now();
    const whole = await fetchFrom(0);
    const elapsedS = (Date.now() - started) / 1000;
    expect(Buffer.compare(whole.bytes, BIG)).toBe(0);
    expect(Buffer.from(whole.etag!).toString("hex")).toBe(etagOf(BIG));
    expect(whole.size).toBe(BIG.length);
    // Progress: from the first block to the end, increasing, at most one per 5 % (or per second) besides the first and last.
    const progress = fotaEvents("fota-progress").slice(progressBefore).filter((event) => event.image === "big.bin");
    expect(progress[0]).toMatchObject({ bytes: 1024, total: BIG.length, transport: "coap" });
    expect(progress[progress.length - 1]).toMatchObject({ bytes: BIG.length, total: BIG.length });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytes).toBeGreaterThan(progress[i - 1]!.bytes);
    expect(progress.length).toBeLessThanOrEqual(22 + Math.ceil(elapsedS));

    const resumed = await fetchFrom(700, whole.etag);
    expect(resumed.first).toBe(700 * 1024);
    expect(resumed.size).toBe(BIG.length);
    expect(Buffer.compare(resumed.bytes, BIG.subarray(700 * 1024))).toBe(0);
    await expect(fetchFrom(1024)).rejects.toThrow(/4\.02/);
    // A resume against another image's ETag is refused by the client.
    await expect(fetchFrom(3, new Uint8Array(8))).rejects.toThrow(/ETag differs/);
    const missing = await client.requestAsync({ peer, method: 1, path: "/fw/nothing.bin" });
    expect(missing.code).toBe(132);
  });

  test("HTTP: full GET, Range with If-Range → 206, a changed tag → 200, 416, HEAD; our host client resumes", async () => {
    const etag = `"${etagOf(BIG)}"`;
    const full = await fetch(`${base}/images/big.bin`);
    expect(full.status).toBe(200);
    expect(full.headers.get("etag")).toBe(etag);
    expect(Buffer.compare(Buffer.from(await full.arrayBuffer()), BIG)).toBe(0);
    const part = await fetch(`${base}/images/big.bin`, { headers: { range: "bytes=1000000-", "if-range": etag } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1000000-${BIG.length - 1}/${BIG.length}`);
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), BIG.subarray(1000000))).toBe(0);
    const middle = await fetch(`${base}/images/big.bin`, { headers: { range: "bytes=10-19" } });
    expect(middle.status).toBe(206);
    expect(Buffer.compare(Buffer.from(await middle.arrayBuffer()), BIG.subarray(10, 20))).toBe(0);
    const changed = await fetch(`${base}/images/big.bin`, { headers: { range: "bytes=1000000-", "if-range": '"0000"' } });
    expect(changed.status).toBe(200);
    expect((await changed.arrayBuffer()).byteLength).toBe(BIG.length);
    expect((await fetch(`${base}/images/big.bin`, { headers: { range: `bytes=${BIG.length}-` } })).status).toBe(416);
    const head = await fetch(`${base}/images/big.bin`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(BIG.length));

    const client = new NodeHttpClient();
    const resumed = await new Promise<{ start: number; total?: number; bytes: Uint8Array }>((resolve, reject) => {
      let start = -1;
      let total: number | undefined;
      const parts: Uint8Array[] = [];
      client.get({
        url: `${base}/images/big.bin`,
        offset: 524288,
        etag,
        onResponse: (_status, headers) => void ((start = headers.rangeStart), (total = headers.totalLength)),
        onData: (data) => void parts.push(data),
        onEnd: (error) => (error ? reject(error) : resolve({ start, ...(total !== undefined ? { total } : {}), bytes: Buffer.concat(parts) })),
      });
    });
    expect(resumed.start).toBe(524288);
    expect(resumed.total).toBe(BIG.length);
    expect(Buffer.compare(resumed.bytes, BIG.subarray(524288))).toBe(0);
    const http = fotaEvents("fota-progress").filter((event) => event.transport === "http");
    expect(http[http.length - 1]).toMatchObject({ bytes: BIG.length, total: BIG.length });
  });

  test("the progress tracker is bounded: per transfer and in the transfers it follows", () => {
    let now = 0;
    const reports: ProgressReport[] = [];
    const tracker = new ProgressTracker((report) => reports.push(report), () => now, { maxTransfers: 4 });
    const total = 1024 * 1024;
    for (let bytes = 1024; bytes <= total; bytes += 1024) tracker.record("a", { endpoint: "d", image: "i", bytes, total, transport: "coap" });
    expect(reports.length).toBeLessThanOrEqual(21);
    expect(reports[reports.length - 1]!.bytes).toBe(total);
    tracker.record("a", { endpoint: "d", image: "i", bytes: total, total, transport: "coap" });
    expect(reports[reports.length - 1]!.bytes).toBe(total);
    const count = reports.length;
    // A slow transfer reports at most once a second; a restart from 0 at once.
    for (let bytes = 16; bytes < 4096; bytes += 16) {
      now += 100;
      tracker.record("b", { endpoint: "d", image: "i", bytes, total, transport: "coap" });
    }
    expect(reports.length - count).toBeLessThanOrEqual(1 + Math.ceil((255 * 100) / 1000));
    for (let key = 0; key < 20; key++) tracker.record(`k${key}`, { endpoint: "d", image: "i", bytes: 1, total, transport: "coap" });
    expect(tracker.size).toBe(4);
  });

  test("the console's progress: one line redrawn on a terminal, a line per 10 % elsewhere", () => {
    const event = (bytes: number) => ({ type: "fota-progress" as const, endpoint: "d", image: "i.bin", bytes, total: 1000, transport: "coap" as const });
    let tty = "";
    const onTerminal = new ProgressDisplay({ isTTY: true, write: (text: string) => (tty += text) });
    for (const bytes of [50, 500, 990]) onTerminal.progress(event(bytes));
    onTerminal.line("[server] something else");
    onTerminal.progress(event(1000));
    expect(tty.split("\n")).toEqual([
      `\r[server] fota d i.bin (coap) [##${".".repeat(28)}]   5% 50/1000 B\r[server] fota d i.bin (coap) [${"#".repeat(15)}${".".repeat(15)}]  50% 500/1000 B\r[server] fota d i.bin (coap) [${"#".repeat(30)}]  99% 990/1000 B`,
      "[server] something else",
      `\r[server] fota d i.bin (coap) [${"#".repeat(30)}] 100% 1000/1000 B`,
      "",
    ]);
    let piped = "";
    const onPipe = new ProgressDisplay({ write: (text: string) => (piped += text) });
    for (let bytes = 50; bytes <= 1000; bytes += 50) onPipe.progress(event(bytes));
    expect(piped.trim().split("\n").map((line) => line.replace(/^.*: /, ""))).toEqual(["5% (50/1000 B)", "10% (100/1000 B)", "20% (200/1000 B)", "30% (300/1000 B)", "40% (400/1000 B)", "50% (500/1000 B)", "60% (600/1000 B)", "70% (700/1000 B)", "80% (800/1000 B)", "90% (900/1000 B)", "100% (1000/1000 B)"]);
  });
});

describe("update jobs against a scripted device", () => {
  async function device(name: string, options: Partial<ConstructorParameters<typeof ScriptedDevice>[2]> = {}): Promise<ScriptedDevice> {
    const scripted = new ScriptedDevice(platform, { address: "127.0.0.1", port: server.port }, { endpointName: name, expected: SMALL, version: "1.0.0", newVersion: "2.0.0", ...options });
    cleanups.push(() => scripted.close());
    await scripted.register();
    return scripted;
  }

  async function finished(name: string): Promise<Extract<ServerEvent, { type: "fota-result" }>> {
    await until(() => fotaEvents("fota-result").some((event) => event.endpoint === name), `the outcome for ${name}`);
    return fotaEvents("fota-result").find((event) => event.endpoint === name)!;
  }

  const statuses = (name: string) => fotaEvents("fota-job").filter((event) => event.job.endpoint === name).map((event) => event.job.status).filter((status, i, all) => status !== all[i - 1]);

  test("pull over CoAP: URI written, Downloaded, Update executed, success and the new version after re-registration", async () => {
    const dev = await device("fota-pull");
    const started = await api("POST", "/clients/fota-pull/fota", { image: "small.bin" });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ endpoint: "fota-pull", method: "pull", scheme: "coap", uri: `coap://127.0.0.1:${server.port}/fw/small.bin`, total: SMALL.length });
    expect((await api("POST", "/clients/fota-pull/fota", { image: "small.bin" })).status).toBe(409);
    expect(await finished("fota-pull")).toEqual({ type: "fota-result", endpoint: "fota-pull", image: "small.bin", result: 1, success: true, version: "2.0.0" });
    expect(dev.registrations).toBe(2);
    expect(dev.log).toEqual(expect.arrayContaining([`uri coap://127.0.0.1:${server.port}/fw/small.bin`, "/5/0/3=2", "/5/0/3=3", "reboot"]));
    expect(statuses("fota-pull")).toEqual(["starting", "transferring", "downloaded", "updating", "succeeded"]);
    const job = (await api("GET", "/clients/fota-pull/fota")).json;
    expect(job).toMatchObject({ status: "succeeded", updateResult: 1, previousVersion: "1.0.0", version: "2.0.0", bytes: SMALL.length });
    const progress = fotaEvents("fota-progress").filter((event) => event.endpoint === "fota-pull");
    expect(progress[progress.length - 1]).toMatchObject({ image: "small.bin", bytes: SMALL.length, transport: "coap" });
    expect(server.listObservations().filter((o) => o.endpoint === "fota-pull")).toEqual([]);
    expect(server.violations.count).toBe(0);
  });

  test("pull over HTTP", async () => {
    await device("fota-http");
    expect((await api("POST", "/clients/fota-http/fota", { image: "small.bin", scheme: "http" })).json.uri).toBe(`${base}/images/small.bin`);
    expect(await finished("fota-http")).toMatchObject({ result: 1, success: true, version: "2.0.0" });
    const progress = fotaEvents("fota-progress").filter((event) => event.endpoint === "fota-http");
    expect(progress[progress.length - 1]).toMatchObject({ bytes: SMALL.length, transport: "http" });
  });

  test("push: the package written to /5/0/0 with Block1, with progress", async () => {
    const dev = await device("fota-push");
    expect((await api("POST", "/clients/fota-push/fota", { image: "small.bin", method: "push" })).status).toBe(202);
    expect(await finished("fota-push")).toMatchObject({ result: 1, success: true, version: "2.0.0" });
    expect(dev.log).toContain(`package ${SMALL.length} B`);
    const progress = fotaEvents("fota-progress").filter((event) => event.endpoint === "fota-push");
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.length).toBeLessThanOrEqual(25);
    expect(progress[progress.length - 1]).toMatchObject({ bytes: SMALL.length, total: SMALL.length, transport: "push" });
  });

  test("the console's fota command starts a job; its outcome follows as events", async () => {
    await device("fota-cli");
    expect(await fotaCommand(server, "fota", ["fota-cli", "small.bin", "push"])).toMatch(/^update of fota-cli with small.bin started: .*push to \/5\/0\/0/);
    expect(await fotaCommand(server, "fota", ["fota-cli", "small.bin", "sideways"])).toMatch(/unknown fota argument/);
    expect(await finished("fota-cli")).toMatchObject({ result: 1, success: true });
    expect(await fotaCommand(server, "fota", ["fota-cli"])).toMatch(/succeeded.*version 1\.0\.0 -> 2\.0\.0/);
    expect(await fotaCommand(server, "images", [])).toMatch(/^big\.bin 1048576 B/);
  });

  test("a device reporting a failed download: the job fails with its Update Result", async () => {
    await device("fota-bad", { expected: BIG });
    await api("POST", "/clients/fota-bad/fota", { image: "small.bin" });
    expect(await finished("fota-bad")).toMatchObject({ result: 5, success: false });
    expect((await api("GET", "/clients/fota-bad/fota")).json).toMatchObject({ status: "failed", updateResult: 5 });
  });

  test("an update that fails after the reboot reports the device's result and its old version", async () => {
    await device("fota-fails", { resultAfterReboot: 8 });
    await api("POST", "/clients/fota-fails/fota", { image: "small.bin" });
    expect(await finished("fota-fails")).toMatchObject({ result: 8, success: false, version: "1.0.0" });
  });

  test("autoUpdate off: the job waits in downloaded until POST .../fota/update; DELETE cancels a running job", async () => {
    await device("fota-manual");
    await api("POST", "/clients/fota-manual/fota", { image: "small.bin", autoUpdate: false });
    await until(() => server.fota.job("fota-manual")?.summary().status === "downloaded", "downloaded");
    expect((await api("GET", "/fota")).json.some((job: { endpoint: string; status: string }) => job.endpoint === "fota-manual" && job.status === "downloaded")).toBe(true);
    expect((await api("POST", "/clients/fota-manual/fota/update")).status).toBe(202);
    expect(await finished("fota-manual")).toMatchObject({ result: 1, success: true });
    expect((await api("POST", "/clients/fota-manual/fota/update")).status).toBe(409);

    await device("fota-cancel");
    await api("POST", "/clients/fota-cancel/fota", { image: "small.bin", autoUpdate: false });
    expect((await api("DELETE", "/clients/fota-cancel/fota")).json.status).toBe("cancelled");
    expect(await finished("fota-cancel")).toMatchObject({ success: false, detail: "cancelled" });
    expect((await api("POST", "/clients/nobody/fota", { image: "small.bin" })).status).toBe(404);
    expect((await api("POST", "/clients/fota-cancel/fota", { image: "none.bin" })).status).toBe(404);
    expect((await api("POST", "/clients/fota-cancel/fota", { image: "small.bin", scheme: "coaps" })).status).toBe(409);
    expect((await api("GET", "/clients/fota-cancel/fota")).json.status).toBe("cancelled");
    expect(server.violations.count).toBe(0);
  });
});
