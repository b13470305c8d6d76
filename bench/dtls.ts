/**
 * DTLS figures from the mbedtls binding in XS (bench/xs-dtls-entry.ts on the
 * XS worker that links modules/dtls): handshake time (full and resumed),
 * datagrams and bytes per handshake and direction, per-record overhead per
 * cipher suite, C heap per session (glibc's malloc counters) and XS heap per
 * connected client/server pair (XS's own meter). Skipped, with the reason,
 * when the DTLS worker was not built.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT, FirmwareHost } from "../hal/host/node/firmware-host.js";
import { xsnapWorkerBinary } from "../hal/host/node/xs-worker.js";

export type DtlsOutcome =
  | { readonly kind: "skipped"; readonly reason: string }
  | { readonly kind: "measured"; readonly results: Record<string, unknown>; readonly xsHeap: { before?: number; after?: number; pairs: number } };

export async function measureDtls(): Promise<DtlsOutcome> {
  const worker = xsnapWorkerBinary();
  if (!worker.dtls) {
    const why = process.env["XS_DTLS_WORKER"] === "off" ? "XS_DTLS_WORKER=off" : (worker.missing ?? "it was not built");
    return { kind: "skipped", reason: `no XS worker with the DTLS binding: ${why}` };
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-dtls-"));
  let results: Record<string, unknown> | undefined;
  let skipped: string | undefined;
  let kept: (pairs: number) => void = () => undefined;
  const keptPairs = new Promise<number>((resolve) => (kept = resolve));
  const host = new FirmwareHost({
    stateDir,
    config: { log: "warn" },
    entry: path.join(BUILD_ROOT, "bench", "xs-dtls-entry.js"),
    onRequest: (op, header) => {
      if (op === "dtls-bench") {
        results = header["results"] as Record<string, unknown> | undefined;
        skipped = header["skipped"] as string | undefined;
        return { header: {} };
      }
      if (op === "dtls-bench-kept") {
        kept(header["pairs"] as number);
        return { header: {} };
      }
      return undefined;
    },
  });
  try {
    await host.start();
    if (!results) return { kind: "skipped", reason: skipped ?? "the XS side reported nothing" };
    // The entry's timer (300 ms) creates the pairs only after this reading.
    const before = (await host.measure()).currentHeapCount;
    const timeout = new Promise<number>((_, reject) => setTimeout(() => reject(new Error("the XS side kept no DTLS sessions within 10 s")), 10000));
    const pairs = await Promise.race([keptPairs, timeout]);
    const after = (await host.measure()).currentHeapCount;
    return { kind: "measured", results, xsHeap: { ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }), pairs } };
  } finally {
    await host.stop(100);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

interface SuiteFigures {
  fullMs: number;
  resumedMs: number;
  full: Record<string, number | boolean>;
  resumedHandshake: Record<string, number | boolean>;
  recordOverhead: Record<string, number>;
}

/** XS slots on the 64-bit host (xsnap): 32 bytes each; a 32-bit MCU has 16-byte slots. */
const SLOT_BYTES = 32;

/** JSON lines, then one human line per figure group. */
export function describeDtls(outcome: DtlsOutcome): string[] {
  if (outcome.kind === "skipped") return [JSON.stringify({ bench: "dtls", skipped: outcome.reason }), `# dtls: skipped: ${outcome.reason}`];
  const lines: string[] = [];
  const human: string[] = [];
  for (const [key, label] of [["ccm8", "TLS_PSK_WITH_AES_128_CCM_8"], ["cbcSha256", "TLS_PSK_WITH_AES_128_CBC_SHA256"]] as const) {
    const s = outcome.results[key] as SuiteFigures;
    lines.push(JSON.stringify({ bench: `dtls-handshake-${key}`, unit: "ms (median, in-process client and server in one XS machine)", full: Number(s.fullMs.toFixed(2)), resumed: Number(s.resumedMs.toFixed(2)), rounds: outcome.results["rounds"] }));
    lines.push(JSON.stringify({ bench: `dtls-handshake-wire-${key}`, unit: "client view: up = client to server", full: s.full, resumed: s.resumedHandshake }));
    lines.push(JSON.stringify({ bench: `dtls-record-overhead-${key}`, unit: "bytes per datagram over the plaintext", ...s.recordOverhead }));
    human.push(`# dtls ${label}: handshake ${s.fullMs.toFixed(2)} ms full, ${s.resumedMs.toFixed(2)} ms resumed (both ends in one XS machine); full ${s.full["flights"]} client flights, ${s.full["datagramsUp"]}/${s.full["datagramsDown"]} datagrams up/down, ${s.full["bytesUp"]}/${s.full["bytesDown"]} bytes; resumed ${s.resumedHandshake["datagramsUp"]}/${s.resumedHandshake["datagramsDown"]} datagrams, ${s.resumedHandshake["bytesUp"]}/${s.resumedHandshake["bytesDown"]} bytes; record overhead ${Object.entries(s.recordOverhead).map(([size, bytes]) => `${bytes} B at ${size}`).join(", ")}`);
  }
  const heap = outcome.results["cHeap"] as { pairs: number; perClientSession: number; perServerSession: number; sharedAndLeftover: number } | undefined;
  if (heap) {
    lines.push(JSON.stringify({ bench: "dtls-c-heap", unit: "bytes of malloc (glibc mallinfo2; Debian's mbedtls: 16 KiB record buffers each way)", ...heap }));
    human.push(`# dtls C heap: ${heap.perClientSession} B per connected client session, ${heap.perServerSession} B per server session; ${heap.sharedAndLeftover} B left once all ${heap.pairs} pairs closed (shared entropy/CTR-DRBG, cookie key, server cache, resumption states)`);
  } else {
    lines.push(JSON.stringify({ bench: "dtls-c-heap", skipped: "heapInUse() is unknown on this C library" }));
  }
  const { before, after, pairs } = outcome.xsHeap;
  const perPair = before !== undefined && after !== undefined ? Math.round((after - before) / pairs) : null;
  lines.push(JSON.stringify({ bench: "dtls-xs-heap", unit: "heap slots (XS meter)", before: before ?? null, after: after ?? null, pairs, perPair, perPairBytes: perPair === null ? null : perPair * SLOT_BYTES }));
  human.push(`# dtls XS heap: ${perPair ?? "?"} slots (${perPair === null ? "?" : perPair * SLOT_BYTES} B at ${SLOT_BYTES} B per slot) per connected client+server pair of native sessions (${pairs} pairs)`);
  return [...lines, ...human];
}
