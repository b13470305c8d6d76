import { afterEach, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { xsnapWorkerBinary } from "../../hal/host/node/xs-worker.js";
import { freeUdpPort } from "./udp-port.js";

/**
 * The DTLS binding inside XS against libcoap's servers (Debian libcoap3-bin):
 * PSK handshakes and a CoAP GET for both cipher suites, each restricted on
 * our side (the servers take any PSK suite their library offers); a second
 * connection resumes the first session; a wrong key ends in the typed
 * handshake error. libcoap 4.3.1's OpenSSL server sets the cipher list
 * "TLSv1.3:TLSv1.2:!NULL", which leaves out TLS_PSK_WITH_AES_128_CBC_SHA256
 * (OpenSSL files it under TLSv1), so the stock server refuses it to every
 * client, OpenSSL's own s_client included. That refusal is checked as the
 * typed fatal-alert it is; CBC_SHA256 then runs against the same server with
 * only its cipher list widened (fixtures/openssl-psk-cbc-shim.c, preloaded)
 * and against the GnuTLS server.
 */
const HAVE_SERVER = spawnSync("sh", ["-c", "command -v coap-server-openssl && command -v coap-server-gnutls"]).status === 0;
const HAVE_MBEDTLS = fs.existsSync("/usr/include/mbedtls/ssl.h");
const WORKER = xsnapWorkerBinary();
let why: string | undefined;
if (!HAVE_SERVER) why = "coap-server-openssl or coap-server-gnutls is missing (apt-get install libcoap3-bin)";
else if (!WORKER.dtls && !HAVE_MBEDTLS) why = "the XS worker has no DTLS binding and libmbedtls-dev is missing (apt-get install libmbedtls-dev, then npm run build:worker)";
if (why) process.stderr.write(`dtls-interop.test: skipped, ${why}\n`);
const maybe = why ? describe.skip : describe;

const IDENTITY = "dev1";
const KEY = "secret-key-0123";

interface Round {
  readonly round: number;
  readonly code?: number;
  readonly failed?: string;
  readonly stats?: { suite: number; resumed: boolean; flightsSent: number; handshakeDatagramsSent: number; handshakeDatagramsReceived: number; handshakeBytesSent: number; handshakeBytesReceived: number; retransmissions: number };
}

interface Outcome {
  readonly rounds: Round[];
  readonly errors: string[];
  readonly live: { sessions: number; resumes?: number }[];
  readonly failed?: string;
}

let server: ChildProcess | undefined;
afterEach(() => {
  server?.kill();
  server = undefined;
});

/** Builds the cipher-list shim once; undefined (and the case fails) when no C compiler is there. */
let cbcShim: string | undefined;
function cbcShimLibrary(): string {
  if (cbcShim) return cbcShim;
  const source = path.join(process.cwd(), "test", "node", "fixtures", "openssl-psk-cbc-shim.c");
  const library = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "psk-cbc-shim-")), "openssl-psk-cbc-shim.so");
  const built = spawnSync("cc", ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"], { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`cannot build ${source} (apt-get install gcc): ${built.stderr || built.error?.message}`);
  cbcShim = library;
  return library;
}

async function startServer(binary = "coap-server-openssl", preload?: string): Promise<number> {
  const port = await freeUdpPort();
  const env = preload ? { ...process.env, LD_PRELOAD: preload } : process.env;
  server = spawn(binary, ["-A", "127.0.0.1", "-p", String(port), "-k", KEY, "-h", "hint", "-v", "3"], { stdio: "ignore", env });
  await new Promise((resolve) => setTimeout(resolve, 300));
  return port + 1; // libcoap serves DTLS on the next port
}

async function runClient(config: Record<string, string | number>): Promise<Outcome> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-interop-"));
  const rounds: Round[] = [];
  const errors: string[] = [];
  const live: Outcome["live"] = [];
  let failed: string | undefined;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const host = new FirmwareHost({
    stateDir,
    config: { log: "warn", ...config },
    entry: path.join(BUILD_ROOT, "test", "xs", "dtls-interop-entry.js"),
    writeLine: (line) => process.stderr.write(`  ${line}\n`),
    onRequest: (op, header) => {
      if (op === "dtls-round") rounds.push(header as unknown as Round);
      else if (op === "dtls-error") errors.push(String(header["reason"]));
      else if (op === "dtls-live") live.push({ sessions: header["sessions"] as number, ...(header["resumes"] === undefined ? {} : { resumes: header["resumes"] as number }) });
      else if (op === "dtls-done") {
        failed = header["failed"] as string | undefined;
        done();
      } else return undefined;
      return { header: {} };
    },
    onFatal: (error) => {
      failed = error.message;
      done();
    },
  });
  try {
    await host.start();
    await finished;
  } finally {
    await host.stop(1000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  return { rounds, errors, live, ...(failed ? { failed } : {}) };
}

maybe("DTLS PSK with coap-server-openssl (XS on the DTLS worker)", () => {
  test("npm install built the worker with the binding", () => {
    expect(WORKER.dtls).toBe(true);
  });

  const cases = [
    ["TLS_PSK_WITH_AES_128_CCM_8", 0xc0a8, "coap-server-openssl", true, false],
    ["TLS_PSK_WITH_AES_128_CBC_SHA256", 0x00ae, "coap-server-openssl", true, true],
    ["TLS_PSK_WITH_AES_128_CCM_8", 0xc0a8, "coap-server-gnutls", false, false],
    ["TLS_PSK_WITH_AES_128_CBC_SHA256", 0x00ae, "coap-server-gnutls", false, false],
  ] as const;
  // libcoap's GnuTLS server keeps no session cache: it answers a resumption offer with a full handshake.
  for (const [suite, number, binary, resumes, widenCipherList] of cases) {
    const label = widenCipherList ? `${binary} (cipher list widened)` : binary;
    test(`${suite} with ${label}: handshake, GET /.well-known/core answered 2.05${resumes ? ", a second connection resumes" : ""}`, async () => {
      const port = await startServer(binary, widenCipherList ? cbcShimLibrary() : undefined);
      const outcome = await runClient({ port, identity: IDENTITY, key: KEY, suites: suite, rounds: 2 });
      process.stderr.write(`dtls-interop ${suite} ${label}: ${JSON.stringify(outcome.rounds.map((round) => round.stats))}\n`);
      expect(outcome.failed).toBeUndefined();
      expect(outcome.errors).toEqual([]);
      expect(outcome.rounds.map((round) => round.code)).toEqual([69, 69]);
      const [first, second] = outcome.rounds.map((round) => round.stats!);
      expect(first!.suite).toBe(number);
      expect(second!.suite).toBe(number);
      expect(first!.resumed).toBe(false);
      expect(second!.resumed).toBe(resumes);
      // Full handshake with a cookie: ClientHello, ClientHello + cookie, ClientKeyExchange..Finished.
      expect(first!.flightsSent).toBe(3);
      // Resumed, the server sends ServerHello, ChangeCipherSpec and Finished only (no ServerHelloDone, no key exchange).
      if (resumes) expect(second!.handshakeBytesReceived).toBeLessThan(first!.handshakeBytesReceived);
      expect(outcome.live.at(-1)).toEqual({ sessions: 0, resumes: 0 });
    }, 30000);
  }

  test("stock coap-server-openssl refuses TLS_PSK_WITH_AES_128_CBC_SHA256: a typed fatal-alert", async () => {
    const port = await startServer();
    const outcome = await runClient({ port, identity: IDENTITY, key: KEY, suites: "TLS_PSK_WITH_AES_128_CBC_SHA256", rounds: 1 });
    expect(outcome.errors.length).toBeGreaterThan(0);
    expect(outcome.errors.every((reason) => reason === "fatal-alert")).toBe(true);
    expect(outcome.live.at(-1)).toEqual({ sessions: 0, resumes: 0 });
  }, 30000);

  test("a wrong key ends in handshake-timeout (OpenSSL's encrypted alert is dropped by mbedtls), reported through onError", async () => {
    const port = await startServer();
    const outcome = await runClient({ port, identity: IDENTITY, key: "not-the-key", rounds: 1, handshakeMinMs: 200, handshakeMaxMs: 800 });
    expect(outcome.failed).toBeUndefined();
    // CoAP retransmits the request, which tries a new handshake: each attempt ends the same way.
    expect(outcome.errors.length).toBeGreaterThan(0);
    expect(outcome.errors.every((reason) => reason === "handshake-timeout")).toBe(true);
    expect(outcome.rounds[0]!.code).toBeUndefined();
    expect(outcome.live.at(-1)).toEqual({ sessions: 0, resumes: 0 });
  }, 30000);
});
