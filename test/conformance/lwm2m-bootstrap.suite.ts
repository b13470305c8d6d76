import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import type { Platform } from "../../hal/platform.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { utf8Decode, type CoapMessage } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient, type BootstrapConfig } from "../../modules/lwm2m/client.js";
import { parseLinks } from "../../modules/lwm2m/content/link-format.js";
import { decodeTlv, encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ResourceEntry } from "../../modules/lwm2m/model/values.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";
import { FAST, openEndpoint, openRawPeer, peerOf } from "./coap-helpers.js";
import { assert, bound, suite, waitFor } from "./harness.js";
import { openTestServer, stopClient, type TestServer } from "./lwm2m-helpers.js";

const definitions = createStandardStore();
const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);

function accountTlv(dmPort: number, ssid: number): { security: Uint8Array; server: Uint8Array } {
  const security: ResourceEntry[] = [
    { path: { objectId: 0, instanceId: 1, resourceId: 0 }, value: `coap://127.0.0.1:${dmPort}`, type: "string" },
    { path: { objectId: 0, instanceId: 1, resourceId: 1 }, value: false, type: "boolean" },
    { path: { objectId: 0, instanceId: 1, resourceId: 2 }, value: 3, type: "integer" },
    { path: { objectId: 0, instanceId: 1, resourceId: 10 }, value: ssid, type: "integer" },
  ];
  const server: ResourceEntry[] = [
    { path: { objectId: 1, instanceId: 1, resourceId: 0 }, value: ssid, type: "integer" },
    { path: { objectId: 1, instanceId: 1, resourceId: 1 }, value: 60, type: "integer" },
    { path: { objectId: 1, instanceId: 1, resourceId: 6 }, value: true, type: "boolean" },
    { path: { objectId: 1, instanceId: 1, resourceId: 7 }, value: "U", type: "string" },
  ];
  return { security: encodeTlv({ objectId: 0, instanceId: 1 }, security, new Set()), server: encodeTlv({ objectId: 1, instanceId: 1 }, server, new Set()) };
}

interface BootstrapServer {
  readonly endpoint: CoapEndpoint;
  readonly requests: string[][];
  readonly log: string[];
  close(): void;
}

/** A bootstrap server that provisions one DM account when asked (or at once, server-initiated). */
async function openBootstrapServer(platform: Platform, dm: TestServer, options: { finish?: boolean; provision?: boolean } = {}): Promise<BootstrapServer> {
  const endpoint = await openEndpoint(platform);
  const server: BootstrapServer = { endpoint, requests: [], log: [], close: () => endpoint.close() };
  endpoint.setHandler((exchange) => {
    if (exchange.request.method !== Method.POST || exchange.request.path[0] !== "bs") return exchange.respond({ code: ResponseCode.NotFound });
    server.requests.push(exchange.request.query.slice());
    exchange.respond({ code: ResponseCode.Changed });
    void provision(endpoint, exchange.request.peer, dm, server.log, options);
  });
  return server;
}

async function provision(endpoint: CoapEndpoint, peer: { address: string; port: number }, dm: TestServer, log: string[], options: { finish?: boolean; provision?: boolean }): Promise<void> {
  const step = async (name: string, request: Omit<Parameters<CoapEndpoint["request"]>[0], "peer">): Promise<CoapMessage> => {
    const response = await endpoint.requestAsync({ ...request, peer });
    log.push(`${name} ${response.code}`);
    return response;
  };
  await step("delete", { method: Method.DELETE, path: "/" });
  if (options.provision !== false) {
    const account = accountTlv(dm.endpoint.localPort, 101);
    await step("write0", { method: Method.PUT, path: "/0/1", contentFormat: ContentFormat.LwM2mTlv, payload: account.security });
    await step("write1", { method: Method.PUT, path: "/1/1", contentFormat: ContentFormat.LwM2mTlv, payload: account.server });
  }
  const discovered = await step("discover", { method: Method.GET, accept: ContentFormat.LinkFormat });
  log.push(`links ${utf8Decode(discovered.payload)}`);
  const read = await step("read1", { method: Method.GET, path: "/1", accept: ContentFormat.LwM2mTlv });
  if (read.code === ResponseCode.Content) log.push(`lifetimes ${decodeTlv({ objectId: 1 }, read.payload, lookup).filter((e) => e.path.resourceId === 1).map((e) => e.value).join(",")}`);
  log.push(`read3 ${(await endpoint.requestAsync({ peer, method: Method.GET, path: "/3/0" })).code}`);
  if (options.finish !== false) await step("finish", { method: Method.POST, path: "/bs" });
}

async function openBootstrappingClient(platform: Platform, bootstrap: BootstrapConfig, settings: MemorySettingsStore, extra: Partial<ConstructorParameters<typeof LwM2mClient>[0]> = {}): Promise<{ client: LwM2mClient; events: LifecycleEvent[] }> {
  const transport = new UdpTransport(platform.net);
  const store = createStandardStore();
  store.get(3)!.createInstance(0).set(0, "Moddable Example");
  const events: LifecycleEvent[] = [];
  const client = new LwM2mClient({ endpointName: "xs-bs-client", transport, time: platform.time, random: platform.random, bootstrap, settings, store, coap: FAST, onEvent: (event) => events.push(event), ...extra });
  await bound(platform, transport);
  client.start();
  return { client, events };
}

export default suite("LwM2M bootstrap (ETS 1.1)", (test) => {
  test("int-0 Client Initiated Bootstrap; int-4 Bootstrap Delete; int-8 Bootstrap Read; int-9 configuration persisted and consistent", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bs = await openBootstrapServer(platform, dm);
    const settings = new MemorySettingsStore();
    const { client, events } = await openBootstrappingClient(platform, { uri: `coap://127.0.0.1:${bs.endpoint.localPort}`, mode: "client-initiated" }, settings);
    try {
      await waitFor(platform, () => dm.registrations.length === 1, 3000, "registration with the bootstrapped server");
      assert.ok(bs.requests[0]!.indexOf("ep=xs-bs-client") >= 0 && bs.requests[0]!.indexOf("pct=112") >= 0, bs.requests[0]!.join("&"));
      assert.equal(bs.log.filter((line) => /^(delete|write0|write1|discover|read1|finish) /.test(line)), ["delete 66", "write0 68", "write1 68", "discover 69", "read1 69", "finish 68"]);
      const links = parseLinks(bs.log.find((line) => line.startsWith("links "))!.slice(6));
      assert.ok(links[0]!.target === "/" && links[0]!.attributes.some(([n, v]) => n === "lwm2m" && String(v) === "1.1"), "lwm2m version in Bootstrap-Discover");
      assert.ok(links.some((l) => l.target === "/0/1" && l.attributes.some(([n, v]) => n === "ssid" && v === 101)), "the new account with its ssid");
      assert.ok(bs.log.indexOf("lifetimes 60") >= 0, "Bootstrap-Read of /1");
      assert.equal(bs.log.find((line) => line.startsWith("read3")), "read3 128", "Bootstrap-Read of /3 is refused with 4.00");
      assert.ok(events.some((e) => e.type === "bootstrapped"), "bootstrapped event");
      assert.ok(settings.keys().indexOf("lwm2m.bs.0") >= 0 && settings.keys().indexOf("lwm2m.bs.1") >= 0, "configuration persisted");
      assert.equal(client.store.get(3)!.instance(0)!.get(0), "Moddable Example", "the Device object survives Bootstrap-Delete");
    } finally {
      await stopClient(platform, client);
    }
    // A restart with the same settings registers at once, without a new bootstrap.
    const again = await openBootstrappingClient(platform, { uri: `coap://127.0.0.1:${bs.endpoint.localPort}`, mode: "client-initiated" }, settings);
    try {
      await waitFor(platform, () => dm.registrations.length === 2, 3000, "registration from the persisted configuration");
      assert.equal(bs.requests.length, 1, "no second Bootstrap-Request");
    } finally {
      await stopClient(platform, again.client);
      bs.close();
      dm.close();
    }
  });

  test("int-9 Bootstrap-Finish with an inconsistent configuration gets 4.06; the client keeps waiting", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bs = await openBootstrapServer(platform, dm, { provision: false });
    const settings = new MemorySettingsStore();
    const { client } = await openBootstrappingClient(platform, { uri: `coap://127.0.0.1:${bs.endpoint.localPort}`, mode: "client-initiated" }, settings);
    try {
      await waitFor(platform, () => bs.log.some((line) => line.startsWith("finish")), 3000, "Bootstrap-Finish");
      assert.equal(bs.log.find((line) => line.startsWith("finish")), `finish ${ResponseCode.NotAcceptable}`);
      assert.equal(dm.registrations.length, 0);
      assert.equal(settings.keys().length, 0, "nothing persisted");
      assert.equal(client.registrationState(), "bootstrapping");
    } finally {
      await stopClient(platform, client);
      bs.close();
      dm.close();
    }
  });

  test("int-6 Bootstrap Sequence; int-7 Fallback to bootstrap after the factory server fails", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bs = await openBootstrapServer(platform, dm);
    const dead = await openRawPeer(platform); // a factory server that never answers
    const settings = new MemorySettingsStore();
    const { client, events } = await openBootstrappingClient(platform, { uri: `coap://127.0.0.1:${bs.endpoint.localPort}`, mode: "sequence" }, settings, {
      servers: [{ uri: `coap://127.0.0.1:${peerOf(dead.socket).port}`, lifetime: 60 }],
      bootstrapAfterFailures: 1,
      coap: { ...FAST, ackTimeoutMs: 20, maxRetransmit: 1 },
    });
    try {
      await waitFor(platform, () => dm.registrations.length === 1, 5000, "registration after the fallback");
      assert.ok(dead.received.length >= 1, "the factory server was tried first");
      const order = events.map((e) => e.type);
      assert.ok(order.indexOf("error") < order.indexOf("bootstrap-started") && order.indexOf("bootstrap-started") < order.indexOf("bootstrapped"), order.join(","));
    } finally {
      await stopClient(platform, client);
      dead.close();
      bs.close();
      dm.close();
    }
  });

  test("int-5 Server Initiated Bootstrap within the hold-off time", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bs = await openBootstrapServer(platform, dm);
    const settings = new MemorySettingsStore();
    const { client } = await openBootstrappingClient(platform, { uri: `coap://127.0.0.1:${bs.endpoint.localPort}`, mode: "client-initiated", holdOffSeconds: 30 }, settings);
    try {
      // The server does not wait for a Bootstrap-Request: it provisions the client during its hold-off.
      await waitFor(platform, () => client.endpoint.localPort > 0, 1000, "client port");
      const log: string[] = [];
      await provision(bs.endpoint, { address: "127.0.0.1", port: client.endpoint.localPort }, dm, log, {});
      await waitFor(platform, () => dm.registrations.length === 1, 3000, "registration");
      assert.equal(bs.requests.length, 0, "no Bootstrap-Request was needed");
    } finally {
      await stopClient(platform, client);
      bs.close();
      dm.close();
    }
  });
});
