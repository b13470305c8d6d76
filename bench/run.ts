/**
 * `npm run bench`: runs the same platform-free workloads in Node and inside
 * XS (xsnap-worker) and prints one JSON line per measurement, then the XS/Node
 * ratio per workload.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { BUILD_ROOT, FirmwareHost } from "../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../hal/host/node/node-platform.js";
import { Method } from "../modules/coap/constants.js";
import { CoapEndpoint } from "../modules/coap/endpoint.js";
import { UdpTransport } from "../modules/coap/transport.js";
import { describeBytecode, measureReleaseBytecode } from "./bytecode-size.js";
import { describeFotaDownload, measureFotaDownload } from "./fota-download.js";
import { describeDtls, measureDtls } from "./dtls.js";
import { describeFixedWork, fixedWorkInNode, fixedWorkInXs } from "./fixed-work.js";
import { createBenchClient, openBenchServer, READ_FORMATS, TapTransport } from "./lwm2m-scenario.js";
import { notifyMessage, registerMessage, wireBytes } from "./lwm2m-messages.js";
import { measureAll, type Measurement } from "./workloads.js";

const MIN_MS = 300;

async function measureInXs(): Promise<{ results: Measurement[]; heapSlots: number | undefined }> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-xs-"));
  let results: Measurement[] = [];
  const host = new FirmwareHost({
    stateDir,
    entry: path.join(BUILD_ROOT, "bench", "xs-entry.js"),
    onRequest: (op, header) => {
      if (op !== "bench-results") return undefined;
      results = header["results"] as Measurement[];
      return { header: {} };
    },
  });
  try {
    const reply = await host.start();
    return { results, heapSlots: reply.meter.currentHeapCount };
  } finally {
    await host.stop(100);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** XS heap slots before and after registering the client with every standard object, from XS's own meter. */
async function lwm2mHeapInXs(): Promise<{ before: number | undefined; after: number | undefined }> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-xs-lwm2m-"));
  let registered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (registered = resolve));
  const host = new FirmwareHost({
    stateDir,
    config: { log: "warn" },
    entry: path.join(BUILD_ROOT, "bench", "xs-lwm2m-entry.js"),
    onRequest: (op) => {
      if (op === "bench-ready") return { header: {} };
      if (op === "bench-registered") {
        registered();
        return { header: {} };
      }
      return undefined;
    },
  });
  try {
    await host.start();
    const before = (await host.measure()).currentHeapCount;
    const timeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error("no registration in XS within 10 s")), 10000));
    await Promise.race([done, timeout]);
    const after = (await host.measure()).currentHeapCount;
    return { before, after };
  } finally {
    await host.stop(100);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Bytes on the wire of a real exchange: Register, Update, reads of /3/0 and a notification. */
async function lwm2mWireBytes(): Promise<Record<string, number>> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-wire-"));
  const platform = createNodePlatform({ stateDir, logLevel: "error" });
  const server = openBenchServer(platform);
  while (!server.localPort) await new Promise((resolve) => setTimeout(resolve, 2));
  const tap = new TapTransport(new UdpTransport(platform.net));
  const client = createBenchClient(platform, tap, server.localPort);
  const figures: Record<string, number> = {};
  try {
    while (!client.endpoint.localPort) await new Promise((resolve) => setTimeout(resolve, 2));
    client.start();
    while (client.registrationState() !== "registered") await new Promise((resolve) => setTimeout(resolve, 2));
    figures["register"] = tap.sent[0]!.length;
    const peer = { address: "127.0.0.1", port: client.endpoint.localPort };
    for (const [name, format] of READ_FORMATS) {
      const count = tap.sent.length;
      await (server as CoapEndpoint).requestAsync({ peer, method: Method.GET, path: "/3/0", accept: format });
      figures[name] = tap.sent[count]!.length;
    }
    let count = tap.sent.length;
    client.updateRegistration();
    while (client.registrationState() !== "registered" || tap.sent.length === count) await new Promise((resolve) => setTimeout(resolve, 2));
    figures["update"] = tap.sent[count]!.length;
    const observed = new Promise<void>((resolve) => server.observe({ peer, path: "/3/0/9" }, () => resolve()));
    await observed;
    count = tap.sent.length;
    client.store.get(3)!.instance(0)!.set(9, 42);
    while (tap.sent.length === count) await new Promise((resolve) => setTimeout(resolve, 2));
    figures["notify-3-0-9"] = tap.sent[count]!.length;
  } finally {
    await new Promise<void>((resolve) => client.stop(resolve));
    server.close();
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  return figures;
}

async function main(): Promise<void> {
  const node = measureAll(() => performance.now(), MIN_MS);
  for (const m of node) process.stdout.write(`${JSON.stringify({ engine: "node", ...m })}\n`);
  const xs = await measureInXs();
  if (xs.results.length === 0) throw new Error("XS reported no benchmark results");
  for (const m of xs.results) process.stdout.write(`${JSON.stringify({ engine: "xs", ...m })}\n`);
  for (const m of xs.results) {
    const peer = node.find((n) => n.bench === m.bench);
    if (peer) process.stdout.write(`${JSON.stringify({ bench: m.bench, ratio: "xs/node", value: Number((m.perSecond / peer.perSecond).toFixed(4)) })}\n`);
  }
  process.stdout.write(`${JSON.stringify({ bench: "xs-heap-after-workloads", unit: "heap slots", value: xs.heapSlots ?? null })}\n`);
  // CoAP bytes on the wire (UDP payload; add 8 bytes UDP and 20/40 bytes IPv4/IPv6 headers per datagram).
  process.stdout.write(`${JSON.stringify({ bench: "wire-bytes-lwm2m-register", unit: "bytes", value: wireBytes(registerMessage()) })}\n`);
  process.stdout.write(`${JSON.stringify({ bench: "wire-bytes-lwm2m-notify-16B", unit: "bytes", value: wireBytes(notifyMessage()) })}\n`);
  for (const [name, bytes] of Object.entries(await lwm2mWireBytes())) process.stdout.write(`${JSON.stringify({ bench: `lwm2m-wire-${name}`, unit: "bytes", value: bytes })}\n`);
  const heap = await lwm2mHeapInXs();
  process.stdout.write(`${JSON.stringify({ bench: "xs-heap-lwm2m-client-registered", unit: "heap slots", before: heap.before ?? null, after: heap.after ?? null, value: heap.after !== undefined && heap.before !== undefined ? heap.after - heap.before : null })}\n`);
  // Bytes on the air for a fixed piece of work, the demo firmware against the development server, in Node and in XS.
  for (const run of [fixedWorkInNode, fixedWorkInXs]) for (const line of describeFixedWork(await run())) process.stdout.write(`${line}\n`);
  // DTLS through the mbedtls binding in XS (needs the DTLS worker: npm run build:worker).
  for (const line of describeDtls(await measureDtls())) process.stdout.write(`${line}\n`);
  // A 1 MiB firmware download in XS over a 50 ms round trip.
  for (const line of describeFotaDownload(await measureFotaDownload())) process.stdout.write(`${line}\n`);
  // Release bytecode per module folder (needs the Moddable SDK: MODDABLE).
  if (process.env["MODDABLE"]) process.stderr.write("bench: building the release firmware with mcconfig for the bytecode sizes (the first build takes several minutes)\n");
  const bytecode = await measureReleaseBytecode();
  for (const line of describeBytecode(bytecode)) process.stdout.write(`${line}\n`);
  if (bytecode.kind === "failed") process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exit(1);
});
