/**
 * The development server's HTTP API against clients that do not answer, or
 * answer late, or sleep (queue mode); and its request-body limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { ResponseCode } from "../../modules/coap/constants.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";
import { RawLwM2mClient } from "./raw-lwm2m-client.js";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-timeouts-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

let server: LwM2mDevServer;
let httpServer: http.Server;
let base = "";
const events: ServerEvent[] = [];
const clients: RawLwM2mClient[] = [];

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${route}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
  return { status: response.status, json: await response.json() };
}

async function client(endpoint: string, binding = "U"): Promise<RawLwM2mClient> {
  const raw = await RawLwM2mClient.open(server.port);
  clients.push(raw);
  await raw.register(endpoint, { binding });
  return raw;
}

beforeAll(async () => {
  // Short deadlines so that the tests need not wait for CoAP's own give-up (93 s).
  server = new LwM2mDevServer({ platform, port: 0, autoObserve: [], requests: { timeoutMs: 300, awakeMs: 150 } });
  server.on("event", (event: ServerEvent) => events.push(event));
  await until(() => server.port > 0, "the CoAP port");
  httpServer = await startHttpApi(server, 0);
  base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterAll(() => {
  for (const raw of clients) raw.close();
  httpServer.closeAllConnections();
  httpServer.close();
  server.close();
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("defect 7: timeouts", () => {
  test("defect 7: a request to a client that stopped answering is 504 at the request timeout", async () => {
    await client("silent");
    const read = await api("GET", "/clients/silent/read?path=/3/0/0");
    expect(read.status).toBe(504);
    expect(read.json.error).toMatch(/no answer from silent within 0\.3 s/);
  });

  test("defect 7: requests in line behind an unanswered one end at their own deadline, and the line moves on", async () => {
    const raw = await client("stuck");
    const answers = await Promise.all([api("GET", "/clients/stuck/read?path=/3/0/0"), api("GET", "/clients/stuck/read?path=/3/0/1"), api("POST", "/clients/stuck/execute", { path: "/3/0/4" })]);
    expect(answers.map((answer) => answer.status)).toEqual([504, 504, 504]);
    // Once it answers again, the next request goes out at once: nothing is left in line.
    raw.onRequest = () => ({ code: ResponseCode.Content, payload: "back" });
    const read = await api("GET", "/clients/stuck/read?path=/3/0/0");
    expect(read).toMatchObject({ status: 200, json: { code: "2.05", text: "back" } });
  });

  test("defect 7: the line per client is bounded: past 32 requests waiting or under way, 503 at once", async () => {
    await client("crowded");
    const answers = await Promise.all(Array.from({ length: 33 }, (_, n) => api("GET", `/clients/crowded/read?path=/3/0/${n}&timeout=5`)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 503)).toHaveLength(1);
    expect(statuses.filter((status) => status === 504)).toHaveLength(32);
    expect(answers.find((answer) => answer.status === 503)!.json.error).toMatch(/32 requests for crowded are already waiting or under way/);
  });

  test("defect 7: a per-request timeout (timeout=S in the query or the body) replaces the default", async () => {
    const raw = await client("late");
    // Answers after 600 ms: later than the server's default (300 ms), within the request's own 10 s.
    const delayed = new Set<number>();
    raw.onRequest = (request) => {
      delayed.add(request.messageId);
      setTimeout(() => raw.reply(request, { code: request.code === 1 ? ResponseCode.Content : ResponseCode.Changed, payload: "slow" }), 600);
      return undefined;
    };
    expect((await api("GET", "/clients/late/read?path=/3/0/0")).status).toBe(504);
    const patient = await api("GET", "/clients/late/read?path=/3/0/0&timeout=10");
    expect(patient).toMatchObject({ status: 200, json: { code: "2.05", text: "slow" } });
    const write = await api("POST", "/clients/late/write", { path: "/3/0/14", value: "+01:00", timeout: 10 });
    expect(write).toMatchObject({ status: 200, json: { code: "2.04" } });
    expect(delayed.size).toBe(3);
    for (const bad of ["0", "abc", "-1", "100000"]) {
      const refused = await api("GET", `/clients/late/read?path=/3/0/0&timeout=${bad}`);
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatch(/timeout must be a number of seconds/);
    }
  });

  test("defect 7: a queue-mode client's requests wait for its next Update; GET /clients shows it awake or sleeping", async () => {
    const raw = await client("sleepy", "UQ");
    raw.onRequest = () => ({ code: ResponseCode.Content, payload: "awake now" });
    expect((await api("GET", "/clients/sleepy")).json).toMatchObject({ queueMode: true });
    // Nothing from it for longer than the awake time (150 ms here, 93 s by default): it sleeps.
    await until(async () => (await api("GET", "/clients/sleepy")).json.awake === false, "the client to be shown sleeping");
    expect(events).toContainEqual({ type: "presence", endpoint: "sleepy", awake: false, waiting: 0 });
    const read = api("GET", "/clients/sleepy/read?path=/3/0/0");
    await until(async () => (await api("GET", "/clients/sleepy")).json.waitingRequests === 1, "the request to wait");
    expect(raw.requestsFor("/3/0/0")).toHaveLength(0);
    await raw.update();
    expect(await read).toMatchObject({ status: 200, json: { code: "2.05", text: "awake now" } });
    expect(raw.requestsFor("/3/0/0")).toHaveLength(1);
    expect(events).toContainEqual({ type: "presence", endpoint: "sleepy", awake: true, waiting: 1 });
    // A client in plain UDP binding is never shown sleeping.
    await client("online");
    expect((await api("GET", "/clients/online")).json).toMatchObject({ queueMode: false, awake: true, waitingRequests: 0 });
  });
});

describe("defect 7: timeouts of Observe", () => {
  test("defect 7: an Observe to a client that stopped answering is 504 and is not listed", async () => {
    await client("silent-observe");
    const observe = await api("POST", "/clients/silent-observe/observe", { path: "/3/0/13" });
    expect(observe.status).toBe(504);
    expect((await api("GET", "/observations")).json).not.toContainEqual({ endpoint: "silent-observe", path: "/3/0/13" });
  });

  test("defect 7: an Observe for a sleeping queue-mode client waits for its next Update", async () => {
    const raw = await client("sleepy-observe", "UQ");
    raw.onRequest = () => ({ code: ResponseCode.Content, payload: "42", observe: 1 });
    await until(async () => (await api("GET", "/clients/sleepy-observe")).json.awake === false, "the client to be shown sleeping");
    const observe = api("POST", "/clients/sleepy-observe/observe", { path: "/3/0/13" });
    await until(async () => (await api("GET", "/clients/sleepy-observe")).json.waitingRequests === 1, "the Observe to wait");
    expect(raw.requestsFor("/3/0/13")).toHaveLength(0);
    await raw.update();
    expect(await observe).toMatchObject({ status: 200, json: { code: "2.05", text: "42" } });
    expect((await api("GET", "/observations")).json).toContainEqual({ endpoint: "sleepy-observe", path: "/3/0/13" });
  });
});

describe("defect 6: request bodies", () => {
  test("defect 6: a body over 64 KiB answers 413 instead of dropping the connection", async () => {
    await client("big");
    const body = JSON.stringify({ path: "/3/0/14", value: "x".repeat(70 * 1024) });
    const answer = await fetch(`${base}/clients/big/write`, { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as { error: string }).error).toMatch(/over 65536 bytes/);
    // Without a Content-Length (chunked), the same.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const chunked = await fetch(`${base}/clients/big/write`, { method: "POST", body: stream, duplex: "half", headers: { "content-type": "application/json" } } as RequestInit);
    expect(chunked.status).toBe(413);
    // The same on the firmware-update routes.
    const fota = await fetch(`${base}/clients/big/fota`, { method: "POST", body: JSON.stringify({ image: "x".repeat(70 * 1024) }), headers: { "content-type": "application/json" } });
    expect(fota.status).toBe(413);
    // The server still answers.
    expect((await api("GET", "/clients")).status).toBe(200);
  });
});
