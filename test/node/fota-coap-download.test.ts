import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { crc32 } from "../../hal/common/crc32.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { ContentFormat, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { CoapDownloader } from "../../modules/fota/coap-downloader.js";
import type { DownloadJob } from "../../modules/fota/download.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import { FirmwareUpdateResult as Result } from "../../modules/lwm2m/objects/firmware-update.js";
import { doneInto, image, jobFor, updater, type Updater } from "../conformance/fota-helpers.js";
import { freeUdpPort } from "./udp-port.js";

/**
 * The CoAP downloader in Node against libcoap 4.3.1's example server
 * (Debian libcoap3-bin): coap-server-openssl with dynamic resources (-d)
 * serves a 1 MiB file PUT into it, over CoAP and, with a PSK (-k), over DTLS
 * on the next port; and against our own endpoint serving 1 MiB. libcoap
 * hands out a new ETag for each new transfer of a large body to a peer, and
 * keeps serving a peer the body it began sending it (a PUT meanwhile does
 * not change it), so an ETag is good for resuming only from the same port
 * while that transfer is cached there; a device that restarted gets a new
 * ETag and the downloader starts again from 0, which is checked too.
 * Skipped with a message when libcoap is missing, except under CI.
 */
const HAVE_LIBCOAP = spawnSync("sh", ["-c", "command -v coap-server-openssl && command -v coap-client-notls"]).status === 0;
if (!HAVE_LIBCOAP) {
  const message = "fota-coap-download.test: libcoap3-bin is not installed (apt-get install libcoap3-bin)";
  if (process.env["CI"]) throw new Error(message);
  process.stderr.write(`${message}; skipped\n`);
}
const maybe = HAVE_LIBCOAP ? describe : describe.skip;

const MIB = 1 << 20;
const KEY = "secret-key-0123";
const FAST = { ackTimeoutMs: 200, maxRetransmit: 2, piggybackWindowMs: 100 };

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fota-coap-"));
const platform = createNodePlatform({ stateDir, logLevel: "warn" });

afterAll(() => {
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

async function openEndpoint(): Promise<CoapEndpoint> {
  const transport = new UdpTransport(platform.net);
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters: FAST });
  while (!transport.localPort) await new Promise((resolve) => setTimeout(resolve, 2));
  return endpoint;
}

function run(downloader: CoapDownloader, seen: Updater, job: DownloadJob, timeoutMs = 30000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no result within ${timeoutMs} ms`)), timeoutMs);
    downloader.start(job, (result, detail) => {
      clearTimeout(timer);
      doneInto(seen)(result, detail);
      resolve();
    });
  });
}

/** PUTs `file` into the server with libcoap's own client (Block1). */
function put(port: number, file: string): void {
  const result = spawnSync("coap-client-notls", ["-m", "put", "-b", "1024", "-f", file, "-B", "30", `coap://127.0.0.1:${port}/fw`], { encoding: "latin1" });
  if (result.status !== 0) throw new Error(`coap-client-notls failed: ${result.stderr}`);
}

maybe("the CoAP downloader against libcoap's coap-server-openssl", () => {
  let server: ChildProcess;
  let port = 0;
  let endpoint: CoapEndpoint;
  const first = image(MIB, 11);
  const second = image(MIB - 5000, 12);
  const files = fs.mkdtempSync(path.join(os.tmpdir(), "fota-coap-files-"));

  beforeAll(async () => {
    port = await freeUdpPort();
    server = spawn("coap-server-openssl", ["-A", "127.0.0.1", "-p", String(port), "-d", "10", "-k", KEY, "-h", "hint"], { stdio: "ignore" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.writeFileSync(path.join(files, "first.bin"), first);
    fs.writeFileSync(path.join(files, "second.bin"), second);
    put(port, path.join(files, "first.bin"));
    endpoint = await openEndpoint();
  });

  afterAll(() => {
    endpoint?.close();
    server?.kill("SIGTERM");
    fs.rmSync(files, { recursive: true, force: true });
  });

  test("downloads 1 MiB, then resumes it from an offset with the ETag of that transfer", async () => {
    const downloader = new CoapDownloader({ endpoint });
    const whole = updater();
    await run(downloader, whole, jobFor(whole, `coap://127.0.0.1:${port}/fw`));
    expect(whole.result).toEqual({ result: Result.Success, detail: `${MIB} bytes` });
    expect(whole.starts).toHaveLength(1);
    expect(whole.starts[0]!.size).toBe(MIB);
    expect(whole.starts[0]!.etag).toBeDefined();
    expect(whole.crc).toBe(crc32(first));

    const tail = updater();
    await run(downloader, tail, jobFor(tail, `coap://127.0.0.1:${port}/fw`, { offset: 500000, etag: whole.starts[0]!.etag! }));
    expect(tail.result!.result).toBe(Result.Success);
    expect(tail.starts.map((start) => start.offset)).toEqual([499712]);
    expect(tail.crc).toBe(crc32(first.subarray(499712)));
  }, 60000);

  test("after the resource changed, a resume (from a rebooted device's new port) with the old ETag starts again from 0", async () => {
    const downloader = new CoapDownloader({ endpoint });
    const before = updater();
    await run(downloader, before, jobFor(before, `coap://127.0.0.1:${port}/fw`, { blockSize: 512 }));
    put(port, path.join(files, "second.bin"));
    // libcoap keeps serving a peer the body it started sending it (same ETag): the change shows to a new transfer.
    const rebooted = await openEndpoint();
    try {
      const after = updater();
      await run(new CoapDownloader({ endpoint: rebooted }), after, jobFor(after, `coap://127.0.0.1:${port}/fw`, { offset: 700000, etag: before.starts[0]!.etag!, blockSize: 512 }));
      expect(after.result!.result).toBe(Result.Success);
      expect(after.starts.map((start) => [start.offset, start.size])).toEqual([[0, second.length]]);
      expect(after.starts[0]!.etag).not.toEqual(before.starts[0]!.etag);
      expect(after.crc).toBe(crc32(second));
    } finally {
      rebooted.close();
    }
  }, 60000);

  test("4.04 is InvalidUri (7), an unsupported scheme 9, an unreachable port ConnectionLost (4)", async () => {
    const downloader = new CoapDownloader({ endpoint });
    const missing = updater();
    await run(downloader, missing, jobFor(missing, `coap://127.0.0.1:${port}/no/such/file`));
    expect(missing.result!.result).toBe(Result.InvalidUri);
    expect(missing.result!.detail).toContain("4.04");
    const scheme = updater();
    await run(downloader, scheme, jobFor(scheme, `http://127.0.0.1:${port}/fw`));
    expect(scheme.result!.result).toBe(Result.UnsupportedProtocol);
    const silent = updater();
    await run(downloader, silent, jobFor(silent, `coap://127.0.0.1:${await freeUdpPort()}/fw`));
    expect(silent.result!.result).toBe(Result.ConnectionLost);
  }, 30000);

  test("coaps:// with a PSK through the LwM2M client's DTLS transport", async () => {
    if (!platform.dtls) {
      process.stderr.write("fota-coap-download.test: no DTLS addon (build-native); the coaps case is skipped\n");
      return;
    }
    const transport = new UdpTransport(platform.net);
    const client = new LwM2mClient({
      endpointName: "fota-node",
      transport,
      time: platform.time,
      random: platform.random,
      coap: FAST,
      store: createStandardStore(),
      dtls: { engine: platform.dtls, handshakeMinMs: 200, handshakeMaxMs: 800 },
      servers: [{ uri: "coap://127.0.0.1:9" }],
    });
    try {
      const downloader = new CoapDownloader({ endpoint: client.endpoint, peers: client, psk: () => ({ identity: Buffer.from("dev1"), key: Buffer.from(KEY) }) });
      expect(downloader.protocols).toEqual([0, 1]);
      const seen = updater();
      // The resource holds `second` since the test before; a new peer (the DTLS one) gets it.
      await run(downloader, seen, jobFor(seen, `coaps://127.0.0.1:${port + 1}/fw`));
      expect(seen.result!.result).toBe(Result.Success);
      expect(seen.crc).toBe(crc32(second));
    } finally {
      await new Promise<void>((resolve) => client.stop(resolve));
    }
  }, 60000);
});

describe("the CoAP downloader against our own endpoint serving 1 MiB", () => {
  test("download, resume with the ETag, restart after a change, 4.04", async () => {
    let body = image(MIB, 21);
    const server = await openEndpoint();
    server.setHandler((exchange) => {
      if (exchange.request.path.join("/") !== "fw") return exchange.respond({ code: ResponseCode.NotFound });
      exchange.respond({ code: ResponseCode.Content, payload: body, contentFormat: ContentFormat.OctetStream });
    });
    const endpoint = await openEndpoint();
    const other = await openEndpoint();
    const uri = `coap://127.0.0.1:${server.localPort}/fw`;
    try {
      const downloader = new CoapDownloader({ endpoint });
      const whole = updater();
      await run(downloader, whole, jobFor(whole, uri));
      expect(whole.result!.result).toBe(Result.Success);
      expect(whole.crc).toBe(crc32(body));
      const etag = whole.starts[0]!.etag!;
      const tail = updater();
      await run(downloader, tail, jobFor(tail, uri, { offset: 1000000, etag }));
      expect(tail.starts).toEqual([{ etag, size: MIB, offset: 999424 }]);
      expect(tail.crc).toBe(crc32(body.subarray(999424)));
      // Our server answers a peer's later blocks from the representation it cached for that peer: another device sees the change.
      body = image(MIB, 22);
      const changed = updater();
      await run(new CoapDownloader({ endpoint: other }), changed, jobFor(changed, uri, { offset: 1000000, etag }));
      expect(changed.starts.map((start) => start.offset)).toEqual([0]);
      expect(changed.crc).toBe(crc32(body));
      const missing = updater();
      await run(downloader, missing, jobFor(missing, `coap://127.0.0.1:${server.localPort}/gone`));
      expect(missing.result!.result).toBe(Result.InvalidUri);
    } finally {
      endpoint.close();
      other.close();
      server.close();
    }
  }, 60000);
});
