import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { loadNodeDtlsEngine } from "../../hal/host/node/dtls/node-dtls.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { DtlsTransport } from "../../modules/dtls/transport.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";

/**
 * Acceptance 3 of issue 10: the development server's coaps:// endpoint (DTLS
 * 1.2 PSK through DtlsServerTransport on the Node addon of the C core) talks
 * to libcoap's coap-client-openssl, refuses a wrong key and an unknown
 * identity, and registers an LwM2M client whose DtlsTransport runs on the
 * same Node engine, beside a plain coap:// client.
 */
const HAVE_CLIENT = spawnSync("sh", ["-c", "command -v coap-client-openssl"]).status === 0;
const ENGINE = loadNodeDtlsEngine();
let why: string | undefined;
if (!ENGINE.engine) why = ENGINE.missing;
else if (!HAVE_CLIENT) why = "coap-client-openssl is missing (apt-get install libcoap3-bin)";
if (why) process.stderr.write(`dev-server-dtls.test: skipped, ${why}\n`);
const maybe = why ? describe.skip : describe;

const IDENTITY = "dev1";
const KEY_TEXT = "secret-key-0123";
const KEY = new TextEncoder().encode(KEY_TEXT);
const KEY_HEX = Buffer.from(KEY).toString("hex");

/** Runs coap-client-openssl without blocking the event loop (the server runs in this process). */
function coapClient(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("coap-client-openssl", ["-B", "3", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (status) => resolve({ status, output }));
  });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

maybe("development server over DTLS (coaps://)", () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-dtls-"));
  const lines: string[] = [];
  const platform = createNodePlatform({ stateDir, logLevel: "info", sink: { writeLine: (line) => lines.push(line) } });
  let server: LwM2mDevServer;
  let httpServer: http.Server;
  const events: ServerEvent[] = [];
  const clients: LwM2mClient[] = [];

  beforeAll(async () => {
    server = new LwM2mDevServer({ platform, port: 0, dtls: { port: 0, psk: new Map([[IDENTITY, KEY]]) } });
    server.on("event", (event: ServerEvent) => events.push(event));
    await until(() => server.port > 0 && server.dtlsPort > 0, "the CoAP and DTLS ports");
    httpServer = await startHttpApi(server, 0);
  });

  afterAll(async () => {
    for (const client of clients) await new Promise<void>((resolve) => client.stop(resolve));
    httpServer?.close();
    server?.close();
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("coap-client-openssl with the PSK gets an answer over DTLS (4.04 for an unknown path)", async () => {
    const { output } = await coapClient(["-u", IDENTITY, "-k", KEY_TEXT, "-m", "get", `coaps://127.0.0.1:${server.dtlsPort}/.well-known/core`]);
    expect(output).toContain("4.04");
    expect(output).not.toMatch(/alert|error/i);
  });

  test("a wrong key and an unknown identity are refused, and the server's log names neither key", async () => {
    const wrongKey = await coapClient(["-u", IDENTITY, "-k", "not-the-key", "-m", "get", `coaps://127.0.0.1:${server.dtlsPort}/x`]);
    expect(wrongKey.output).not.toContain("4.04");
    expect(wrongKey.output).toMatch(/bad record mac|decrypt/i);
    const stranger = await coapClient(["-u", "nobody", "-k", KEY_TEXT, "-m", "get", `coaps://127.0.0.1:${server.dtlsPort}/x`]);
    expect(stranger.output).not.toContain("4.04");
    expect(stranger.output).toMatch(/unknown psk identity/i);
    await until(() => lines.filter((line) => line.includes("handshake-failed")).length >= 2, "both failures in the log");
    expect(lines.some((line) => line.includes('identity "nobody"') && line.includes("handshake-failed"))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(KEY_TEXT);
      expect(line).not.toContain(KEY_HEX);
      expect(line).not.toContain("not-the-key");
    }
  });

  test("an LwM2M client on our DtlsTransport (Node engine) registers over DTLS beside a plain one; DM and the HTTP API work for both", async () => {
    const engine = ENGINE.engine!;
    const make = (endpointName: string, secure: boolean): LwM2mClient => {
      const store = createStandardStore();
      store.get(3)!.createInstance(0).set(0, "Moddable Example");
      const udp = new UdpTransport(platform.net);
      const transport = secure
        ? new DtlsTransport({ engine, time: platform.time, inner: udp, credentials: () => ({ identity: new TextEncoder().encode(IDENTITY), key: KEY }) })
        : udp;
      // The URI's scheme stays coap://: the LwM2M layer's coaps:// routing is another change (Security object → DTLS).
      const port = secure ? server.dtlsPort : server.port;
      const client = new LwM2mClient({ endpointName, transport, time: platform.time, random: platform.random, servers: [{ uri: `coap://127.0.0.1:${port}`, lifetime: 300 }], store });
      clients.push(client);
      client.start();
      return client;
    };
    make("secure-dev", true);
    make("plain-dev", false);
    await until(() => server.registry.get("secure-dev") !== undefined && server.registry.get("plain-dev") !== undefined, "both registrations");
    expect(events.find((e) => e.type === "registered" && e.endpoint === "secure-dev")).toMatchObject({ pskIdentity: IDENTITY });
    expect((await server.read("secure-dev", "/3/0/0")).text).toBe("Moddable Example");
    expect((await server.read("plain-dev", "/3/0/0")).text).toBe("Moddable Example");
    const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    const list = (await (await fetch(`${base}/clients`)).json()) as { endpoint: string; transport: string; pskIdentity?: string }[];
    expect(list.find((c) => c.endpoint === "secure-dev")).toMatchObject({ transport: "dtls", pskIdentity: IDENTITY });
    expect(list.find((c) => c.endpoint === "plain-dev")).toMatchObject({ transport: "udp" });
    expect(list.find((c) => c.endpoint === "plain-dev")).not.toHaveProperty("pskIdentity");
    // Deregistration closes the client's endpoint and with it the DTLS session (close_notify).
    const secure = clients.shift()!;
    await new Promise<void>((resolve) => secure.stop(resolve));
    await until(() => server.dtlsSessions.open === 0, `the server to see the close_notify; log:\n${lines.join("\n")}`);
    expect(events.some((e) => e.type === "deregistered" && e.endpoint === "secure-dev")).toBe(true);
  });
});
