/**
 * The development server's bootstrap role: it answers a Bootstrap-Request
 * with 2.04, then provisions the client with its own LwM2M address
 * (Bootstrap-Delete "/", Bootstrap-Discover, Bootstrap-Write /0 and /1,
 * Bootstrap-Finish) in the format the client prefers, lists what it did, and
 * refuses a malformed Bootstrap-Request in strict mode.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { utf8Decode, type CoapMessage } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";
import { FAST } from "../conformance/coap-helpers.js";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-bootstrap-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
let server: LwM2mDevServer;
let httpServer: http.Server;
let httpPort = 0;
const events: ServerEvent[] = [];
const clients: LwM2mClient[] = [];
const endpoints: CoapEndpoint[] = [];

function waitUntil(check: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

async function startClient(endpointName: string, version: "1.0" | "1.1"): Promise<LwM2mClient> {
  const transport = new UdpTransport(platform.net);
  const store = createStandardStore();
  store.get(3)!.createInstance(0).set(0, "Moddable Example");
  const client = new LwM2mClient({
    endpointName,
    version,
    transport,
    time: platform.time,
    random: platform.random,
    settings: new MemorySettingsStore(),
    store,
    coap: FAST,
    bootstrap: { uri: `coap://127.0.0.1:${server.bootstrapPort}`, mode: "client-initiated" },
  });
  clients.push(client);
  await waitUntil(() => transport.localPort > 0, "the client's port");
  client.start();
  return client;
}

async function rawEndpoint(): Promise<CoapEndpoint> {
  const transport = new UdpTransport(platform.net);
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters: FAST });
  endpoints.push(endpoint);
  await waitUntil(() => transport.localPort > 0, "the raw endpoint's port");
  return endpoint;
}

function bootstrapRequest(endpoint: CoapEndpoint, query: string[], payload?: Uint8Array): Promise<CoapMessage> {
  return endpoint.requestAsync({ peer: { address: "127.0.0.1", port: server.bootstrapPort }, method: Method.POST, path: "/bs", query, ...(payload ? { payload, contentFormat: ContentFormat.TextPlain } : {}) });
}

function getJson(pathname: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: httpPort, path: pathname }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve(JSON.parse(body)));
    }).on("error", reject);
  });
}

beforeAll(async () => {
  server = new LwM2mDevServer({ platform, port: 0, autoObserve: [], bootstrap: { port: 0, lifetime: 120, binding: "U" } });
  server.on("event", (event: ServerEvent) => void events.push(event));
  await waitUntil(() => server.port > 0 && server.bootstrapPort > 0, "the server's ports");
  httpServer = await startHttpApi(server, 0);
  httpPort = (httpServer.address() as { port: number }).port;
});

afterAll(async () => {
  for (const client of clients) await new Promise<void>((resolve) => client.stop(() => resolve()));
  for (const endpoint of endpoints) endpoint.close();
  if (httpServer) await new Promise((resolve) => httpServer.close(resolve));
  server?.close();
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("the development server's bootstrap role", () => {
  test("an LwM2M 1.1 client (pct=112) is provisioned with SenML CBOR: Delete /, Discover, Write /0 and /1, Finish; then it registers here", async () => {
    const client = await startClient("bs-client-11", "1.1");
    await waitUntil(() => events.some((e) => e.type === "registered" && e.endpoint === "bs-client-11"), "the registration after bootstrap");
    const record = server.bootstraps.find((r) => r.endpoint === "bs-client-11")!;
    expect(record.status).toBe("finished");
    expect(record.format).toBe(ContentFormat.SenmlCbor);
    expect(record.serverUri).toBe(`coap://127.0.0.1:${server.port}`);
    expect(record.steps.map((s) => `${s.operation} ${s.path} ${s.code}`)).toEqual([
      "Bootstrap-Delete / 2.02",
      "Bootstrap-Discover / 2.05",
      "Bootstrap-Write /0 2.04",
      "Bootstrap-Write /1 2.04",
      "Bootstrap-Finish /bs 2.04",
    ]);
    expect(events.some((e) => e.type === "bootstrap" && e.record.endpoint === "bs-client-11" && e.record.status === "finished")).toBe(true);
    // The bootstrap account survives; the new account points at this server with NoSec.
    const security = client.store.get(0)!;
    const accounts = security.instanceIds().map((id) => security.instance(id)!);
    const bootstrapAccount = accounts.find((a) => a.get(1) === true);
    expect(bootstrapAccount?.get(0)).toBe(`coap://127.0.0.1:${server.bootstrapPort}`);
    const dmAccount = accounts.find((a) => a.get(1) === false)!;
    expect(dmAccount.get(0)).toBe(`coap://127.0.0.1:${server.port}`);
    expect(dmAccount.get(2)).toBe(3); // NoSec
    expect(dmAccount.get(10)).toBe(record.shortServerId);
    const serverObject = client.store.get(1)!;
    const instance = serverObject.instance(serverObject.instanceIds()[0]!)!;
    expect([instance.get(0), instance.get(1), instance.get(7)]).toEqual([record.shortServerId, 120, "U"]);
    expect(server.registry.get("bs-client-11")?.lifetime).toBe(120);
    expect(server.violations.count).toBe(0);
  });

  test("an LwM2M 1.0 client (no pct) is provisioned with TLV", async () => {
    await startClient("bs-client-10", "1.0");
    await waitUntil(() => events.some((e) => e.type === "registered" && e.endpoint === "bs-client-10"), "the registration after bootstrap");
    const record = server.bootstraps.find((r) => r.endpoint === "bs-client-10")!;
    expect(record.status).toBe("finished");
    expect(record.format).toBe(ContentFormat.LwM2mTlv);
    expect(record.steps.map((s) => s.code)).toEqual(["2.02", "2.05", "2.04", "2.04", "2.04"]);
  });

  test("GET /bootstraps of the HTTP API lists the bootstraps", async () => {
    const listed = (await getJson("/bootstraps")) as { endpoint: string; status: string; steps: unknown[] }[];
    expect(listed.map((r) => [r.endpoint, r.status])).toEqual(expect.arrayContaining([["bs-client-11", "finished"], ["bs-client-10", "finished"]]));
  });

  test("strict: a Bootstrap-Request without ep, with an unknown or repeated parameter, a bad pct or a payload gets 4.00 naming the rule", async () => {
    const endpoint = await rawEndpoint();
    const before = server.violations.count;
    const cases: [string[], Uint8Array | undefined, RegExp][] = [
      [[], undefined, /ep \(Endpoint Client Name\) is required/],
      [["ep=raw", "lt=60"], undefined, /unknown Bootstrap-Request parameter "lt"/],
      [["ep=raw", "ep=raw"], undefined, /given more than once/],
      [["ep=raw", "pct=abc"], undefined, /pct must be/],
      [["ep=raw", "pct=50"], undefined, /pct must be/],
      [["ep=ra&w"], undefined, /ep contains characters/],
      [["ep=raw"], new TextEncoder().encode("hello"), /no payload/],
    ];
    for (const [query, payload, diagnostic] of cases) {
      const response = await bootstrapRequest(endpoint, query, payload);
      expect(response.code).toBe(ResponseCode.BadRequest);
      expect(utf8Decode(response.payload)).toMatch(/LwM2M TS/);
      expect(utf8Decode(response.payload)).toMatch(diagnostic);
    }
    expect(server.violations.count).toBeGreaterThanOrEqual(before + cases.length);
    expect(server.bootstraps.some((r) => r.endpoint === "raw")).toBe(false);
  });

  test("other requests to the bootstrap port: 4.04 for another path, 4.05 for another method on /bs", async () => {
    const endpoint = await rawEndpoint();
    const peer = { address: "127.0.0.1", port: server.bootstrapPort };
    expect((await endpoint.requestAsync({ peer, method: Method.POST, path: "/rd", query: ["ep=raw"] })).code).toBe(ResponseCode.NotFound);
    expect((await endpoint.requestAsync({ peer, method: Method.GET, path: "/bs" })).code).toBe(ResponseCode.MethodNotAllowed);
  });
});

describe("npm run dev-server -- --bootstrap-port", () => {
  test("the command line starts the bootstrap role and names its address; \"bootstraps\" lists none yet", async () => {
    const child = spawn(process.execPath, [path.join(BUILD_ROOT, "tools", "dev-server", "cli.js"), "--coap-port", "0", "--bootstrap-port", "0", "--http-port", "0"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitUntil(() => /LwM2M server on coap:\/\/127\.0\.0\.1:\d+, bootstrap server on coap:\/\/127\.0\.0\.1:\d+ /.test(output), "the banner");
      child.stdin!.write("bootstraps\n");
      await waitUntil(() => /\(none\)/.test(output), "the bootstraps listing");
      child.stdin!.write("quit\n");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
