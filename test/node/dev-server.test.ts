import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-test-"));
const platform = createNodePlatform({ stateDir, logLevel: "warn" });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

describe("development server", () => {
  let server: LwM2mDevServer;
  let httpServer: http.Server;
  let base = "";
  const events: ServerEvent[] = [];
  const commandsReceived: string[] = [];
  const clients: LwM2mClient[] = [];

  function startClient(endpointName: string): LwM2mClient {
    const store = createStandardStore();
    const device = store.get(3)!.createInstance(0);
    device.set(0, "Moddable Example");
    device.set(9, 90);
    device.set(11, new Map([[0, 0]]));
    device.set(14, "+01:00");
    device.bind(4, { execute: () => undefined, executeAfterResponse: true });
    store.get(19)!.createInstance(0).set(0, new Map([[0, new Uint8Array(0)]]));
    const downlink = store.get(19)!.createInstance(1);
    downlink.set(0, new Map([[0, new Uint8Array(0)]]));
    downlink.bind(0, {
      write: (value) => {
        const data = value instanceof Map ? value.get(0) : value;
        if (data instanceof Uint8Array) commandsReceived.push(Buffer.from(data).toString());
      },
    });
    const client = new LwM2mClient({ endpointName, transport: new UdpTransport(platform.net), time: platform.time, random: platform.random, servers: [{ uri: `coap://127.0.0.1:${server.port}`, lifetime: 300 }], store });
    clients.push(client);
    return client;
  }

  async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
    const response = await fetch(`${base}${route}`, { method, ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
    return { status: response.status, json: await response.json() };
  }

  beforeAll(async () => {
    server = new LwM2mDevServer({ platform, port: 0 });
    server.on("event", (event: ServerEvent) => events.push(event));
    await until(() => server.port > 0, "the CoAP port");
    httpServer = await startHttpApi(server, 0);
    base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    const client = startClient("dev1");
    await until(() => client.endpoint.localPort > 0, "client port");
    client.start();
    await until(() => server.registry.get("dev1") !== undefined, "registration");
  });

  afterAll(async () => {
    for (const client of clients) await new Promise<void>((resolve) => client.stop(resolve));
    httpServer.close();
    server.close();
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("lists clients with their objects", async () => {
    const list = await api("GET", "/clients");
    expect(list.json.map((c: { endpoint: string }) => c.endpoint)).toEqual(["dev1"]);
    const one = await api("GET", "/clients/dev1");
    expect(one.json.links.map((l: { target: string }) => l.target)).toContain("/3/0");
    expect(events[0]).toMatchObject({ type: "registered", endpoint: "dev1", version: "1.1" });
    expect((await api("GET", "/clients/nobody")).status).toBe(404);
  });

  test("read, in several formats", async () => {
    expect((await api("GET", "/clients/dev1/read?path=/3/0/0")).json).toMatchObject({ code: "2.05", text: "Moddable Example" });
    const tlv = await api("GET", "/clients/dev1/read?path=/3/0&accept=11542");
    expect(tlv.json.values).toEqual(expect.arrayContaining([{ path: "/3/0/0", value: "Moddable Example" }, { path: "/3/0/11/0", value: 0 }]));
    const cbor = await api("GET", "/clients/dev1/read?path=/3/0&accept=112");
    expect(cbor.json.values.length).toBe(tlv.json.values.length);
    const json = await api("GET", "/clients/dev1/read?path=/3/0/9&accept=110");
    expect(json.json.values).toEqual([{ path: "/3/0/9", value: 90 }]);
  });

  test("write, execute, discover, attributes, create and delete", async () => {
    expect((await api("POST", "/clients/dev1/write", { path: "/3/0/14", value: "+02:00" })).json.code).toBe("2.04");
    expect((await api("GET", "/clients/dev1/read?path=/3/0/14")).json.text).toBe("+02:00");
    expect((await api("POST", "/clients/dev1/write", { path: "/3/0/0", value: "x" })).json.code).toBe("4.05");
    expect((await api("POST", "/clients/dev1/execute", { path: "/3/0/4" })).json.code).toBe("2.04");
    expect((await api("GET", "/clients/dev1/discover?path=/3/0")).json.text).toContain("</3/0/9>");
    expect((await api("POST", "/clients/dev1/attributes", { path: "/3/0/9", pmin: 0, pmax: 30 })).json.code).toBe("2.04");
    expect((await api("GET", "/clients/dev1/discover?path=/3/0/9")).json.text).toContain("pmax=30");
    const created = await api("POST", "/clients/dev1/create", { path: "/19", payloadHex: "", format: 11542 });
    expect(created.json.code).toBe("2.01");
    expect((await api("DELETE", "/clients/dev1/instance?path=/19/2")).json.code).toBe("2.02");
    expect((await api("POST", "/clients/dev1/write", { path: "/3/0/9" })).status).toBe(400);
  });

  test("observe: notifications arrive as events and on /events", async () => {
    const controller = new AbortController();
    const stream = await fetch(`${base}/events`, { signal: controller.signal });
    const reader = stream.body!.getReader();
    const first = await api("POST", "/clients/dev1/observe", { path: "/3/0/9" });
    expect(first.json).toMatchObject({ code: "2.05", text: "90" });
    clients[0]!.store.get(3)!.instance(0)!.set(9, 77);
    await until(() => events.some((e) => e.type === "notification" && e.path === "/3/0/9"), "a notification");
    let seen = "";
    while (!seen.includes('"notification"')) seen += new TextDecoder().decode((await reader.read()).value);
    expect(seen).toContain('"path":"/3/0/9"');
    controller.abort();
    expect((await api("GET", "/observations")).json).toEqual([{ endpoint: "dev1", path: "/3/0/9" }]);
    expect((await api("DELETE", "/clients/dev1/observe?path=/3/0/9")).status).toBe(200);
  });

  test("commands to /19/1/0: immediate, cached until the device registers, expired, cancelled", async () => {
    const now = await api("POST", "/clients/dev1/commands", { text: "light on" });
    expect(now.status).toBe(202);
    await until(() => server.commands.get(now.json.id)?.status === "success", "delivery");
    expect(commandsReceived).toContain("light on");
    const statuses = events.filter((e) => e.type === "command" && e.command.id === now.json.id).map((e) => (e.type === "command" ? e.command.status : ""));
    expect(statuses).toEqual(["waiting", "sent", "delivered", "success"]);

    const cached = await api("POST", "/clients/dev2/commands", { text: "hello later", expiresInSeconds: 60 });
    const expired = await api("POST", "/clients/dev2/commands", { text: "too late", expiresInSeconds: 0.05 });
    const cancelled = await api("POST", "/clients/dev2/commands", { text: "never" });
    expect((await api("DELETE", `/commands/${cancelled.json.id}`)).status).toBe(200);
    await wait(1200);
    expect(server.commands.get(expired.json.id)?.status).toBe("expired");
    expect(server.commands.get(cached.json.id)?.status).toBe("waiting");
    const late = startClient("dev2");
    await until(() => late.endpoint.localPort > 0, "client port");
    late.start();
    await until(() => server.commands.get(cached.json.id)?.status === "success", "cached delivery after registration");
    expect(commandsReceived).toContain("hello later");
    expect(commandsReceived).not.toContain("too late");
    expect(commandsReceived).not.toContain("never");
    const all = (await api("GET", "/commands?endpoint=dev2")).json.map((c: { status: string }) => c.status);
    expect(all).toEqual(["success", "expired", "cancelled"]);
    const failing = await api("POST", "/clients/nobody/commands", { text: "x", immediate: true });
    expect(server.commands.get(failing.json.id)?.status).toBe("failed");
  }, 15000);

  test("reads every standard object in every multi-value format", async () => {
    const store = clients[0]!.store;
    store.get(4)!.createInstance(0).set(0, 0);
    store.get(4)!.instance(0)!.set(1, new Map([[0, 0], [1, 21]]));
    store.get(4)!.instance(0)!.set(2, -70);
    store.get(4)!.instance(0)!.set(4, new Map([[0, "127.0.0.1"]]));
    const firmware = store.get(5)!.createInstance(0);
    firmware.set(3, 0);
    firmware.set(5, 0);
    firmware.set(1, "");
    firmware.set(9, 0);
    const location = store.get(6)!.createInstance(0);
    location.set(0, 52.52);
    location.set(1, 13.405);
    location.set(5, 1700000000);
    store.get(7)!.createInstance(0).set(8, 60);
    const config = store.get(10241)!.createInstance(0);
    config.set(1, "interval");
    config.set(2, "30");
    const acl = store.get(2)!.createInstance(0);
    acl.set(0, 3);
    acl.set(1, 0);
    acl.set(2, new Map([[0, 1]]));
    acl.set(3, 1);
    await wait(50);
    for (const objectId of [1, 2, 3, 4, 5, 6, 7, 19, 10241]) {
      for (const accept of [11542, 110, 112]) {
        const result = (await api("GET", `/clients/dev1/read?path=/${objectId}&accept=${accept}`)).json;
        expect(result.code).toBe("2.05");
        expect(result.values.length).toBeGreaterThan(0);
      }
    }
    const located = (await api("GET", "/clients/dev1/read?path=/6/0&accept=112")).json.values;
    expect(located).toEqual(expect.arrayContaining([{ path: "/6/0/0", value: 52.52 }, { path: "/6/0/5", value: 1700000000 }]));
    expect((await api("GET", "/clients/dev1/read?path=/0")).json.code).toBe("4.01");
    expect((await api("POST", "/clients/dev1/execute", { path: "/10241/0/3" })).json.code).toBe("4.05");
  });

  test("deregistration is seen", async () => {
    const client = clients.pop()!;
    await new Promise<void>((resolve) => client.stop(resolve));
    await until(() => events.some((e) => e.type === "deregistered" && e.endpoint === "dev2"), "deregistration");
  });
});
