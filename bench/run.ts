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
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exit(1);
});
