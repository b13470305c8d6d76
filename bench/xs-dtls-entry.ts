// Runs inside XS on the DTLS worker for bench/dtls.ts: client and server
// sessions of the mbedtls binding in one machine, datagrams handed across in
// memory (no loss, so no retransmission). Measures handshakes (full and
// resumed), bytes and datagrams per direction, per-record overhead and C heap;
// then, on a timer, creates PAIRS connected pairs and keeps them so that the
// Node side can read XS's heap meter before and after.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { dtlsEngine } from "dtls/engine";
import type { DtlsEngine, DtlsNativeSession, DtlsNativeStats } from "../hal/dtls.js";
import { encodeFrame } from "../hal/host/bridge-frame.js";

const report = (header: object) => issueCommand(encodeFrame(header));
/** xsnap-worker's global gc() (collects now; destructors of closed sessions run). */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const CCM_8 = 0xc0a8;
const CBC_SHA256 = 0x00ae;
const IDENTITY = new Uint8Array([98, 101, 110, 99, 104]); // "bench"
const KEY = new Uint8Array(16).map((_, i) => i * 7 + 1);
const PEER_ID = new Uint8Array([127, 0, 0, 1, 0x16, 0x34]);
const ROUNDS = Number(config["rounds"] ?? 20);
const PAIRS = Number(config["pairs"] ?? 8);

interface Pair {
  readonly client: DtlsNativeSession;
  readonly server: DtlsNativeSession;
  readonly toServer: Uint8Array[];
  readonly toClient: Uint8Array[];
  readonly ms: number;
}

/** Moves queued datagrams until both ends are connected; throws on an error status. */
function pump(pair: Omit<Pair, "ms">): void {
  let clientUp = false;
  let serverUp = false;
  for (let guard = 0; guard < 50 && !(clientUp && serverUp); guard++) {
    while (pair.toServer.length) {
      const status = pair.server.receive(pair.toServer.shift()!);
      if (status < 0) throw new Error(`server status ${status}`);
      if (status === 1 || status === 2) serverUp = true;
    }
    while (pair.toClient.length) {
      const status = pair.client.receive(pair.toClient.shift()!);
      if (status < 0) throw new Error(`client status ${status}`);
      if (status === 1 || status === 2) clientUp = true;
    }
  }
  if (!clientUp || !serverUp) throw new Error("the handshake did not finish");
}

function connect(engine: DtlsEngine, suite: number, resumeFrom?: DtlsNativeSession): Pair {
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const started = performance.now();
  const server = engine.createSession(
    { role: 1, peerId: PEER_ID, suites: [suite] },
    { send: (d) => (toClient.push(new Uint8Array(d)), true), setTimer: () => undefined, deliver: () => undefined, pskLookup: () => KEY },
  );
  const client = engine.createSession(
    { role: 0, identity: IDENTITY, key: KEY, suites: [suite], ...(resumeFrom ? { resumeFrom } : {}) },
    { send: (d) => (toServer.push(new Uint8Array(d)), true), setTimer: () => undefined, deliver: () => undefined },
  );
  server.start();
  client.start();
  pump({ client, server, toServer, toClient });
  return { client, server, toServer, toClient, ms: performance.now() - started };
}

function close(pair: Pair): void {
  pair.client.close();
  pair.server.close();
}

/** Handshake bytes and datagrams as the client counts them (sent = client → server). */
function wire(stats: DtlsNativeStats) {
  return {
    flights: stats.flightsSent,
    datagramsUp: stats.handshakeDatagramsSent,
    datagramsDown: stats.handshakeDatagramsReceived,
    bytesUp: stats.handshakeBytesSent,
    bytesDown: stats.handshakeBytesReceived,
    resumed: stats.resumed,
  };
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Datagram length minus plaintext length of one application record, per plaintext size. */
function overhead(pair: Pair, sizes: readonly number[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const size of sizes) {
    pair.client.write(new Uint8Array(size));
    const datagram = pair.toServer.shift();
    if (!datagram) throw new Error("no record sent");
    result[`${size}B`] = datagram.length - size;
    pair.server.receive(datagram);
  }
  return result;
}

function suiteFigures(engine: DtlsEngine, suite: number) {
  const full: number[] = [];
  const resumed: number[] = [];
  let fullWire;
  let resumedWire;
  let records: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const first = connect(engine, suite);
    full.push(first.ms);
    fullWire = wire(first.client.stats());
    if (round === 0) records = overhead(first, [16, 100, 1024]);
    close(first);
    const second = connect(engine, suite, first.client);
    resumed.push(second.ms);
    resumedWire = wire(second.client.stats());
    close(second);
    first.client.forgetResume();
    second.client.forgetResume();
  }
  return { fullMs: median(full), resumedMs: median(resumed), full: fullWire, resumedHandshake: resumedWire, recordOverhead: records };
}

/** C heap (malloc) of the binding: shared state, and a connected client and server session each. */
function cHeap(engine: DtlsEngine) {
  if (engine.heapInUse() < 0) return undefined;
  collect();
  const base = engine.heapInUse();
  const pairs: Pair[] = [];
  for (let i = 0; i < PAIRS; i++) pairs.push(connect(engine, CCM_8));
  const withPairs = engine.heapInUse();
  for (const pair of pairs) pair.server.close();
  const clientsOnly = engine.heapInUse();
  for (const pair of pairs) pair.client.close();
  const closed = engine.heapInUse();
  for (const pair of pairs) pair.client.forgetResume();
  return {
    pairs: PAIRS,
    perClientSession: Math.round((clientsOnly - closed) / PAIRS),
    perServerSession: Math.round((withPairs - clientsOnly) / PAIRS),
    // What stays once every session is closed: entropy/CTR-DRBG, cookie key, server cache entries, host objects, resumption states.
    sharedAndLeftover: closed - base,
  };
}

const platform = createPlatform(config);
const kept: Pair[] = [];
if (!dtlsEngine) {
  report({ op: "dtls-bench", skipped: "this XS worker has no DTLS binding" });
} else {
  const engine = dtlsEngine;
  const results = { ccm8: suiteFigures(engine, CCM_8), cbcSha256: suiteFigures(engine, CBC_SHA256), cHeap: cHeap(engine), rounds: ROUNDS };
  collect();
  report({ op: "dtls-bench", results });
  // Node reads the heap meter now (before), then again once these pairs exist (after).
  platform.time.setTimer(300, () => {
    for (let i = 0; i < PAIRS; i++) kept.push(connect(engine, CCM_8));
    collect();
    report({ op: "dtls-bench-kept", pairs: kept.length });
  });
}
