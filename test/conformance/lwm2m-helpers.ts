import type { Platform } from "../../hal/platform.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import type { ServerExchange } from "../../modules/coap/endpoint.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { utf8Decode, type CoapMessage } from "../../modules/coap/message.js";
import { UdpTransport, type CoapTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient, type LwM2mClientOptions } from "../../modules/lwm2m/client.js";
import { parseLinks, type Link } from "../../modules/lwm2m/content/link-format.js";
import type { ObjectStore } from "../../modules/lwm2m/model/object-store.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";
import { CoapEndpoint as Endpoint } from "../../modules/coap/endpoint.js";
import { FAST, openEndpoint, peerOf } from "./coap-helpers.js";
import { bound, waitFor } from "./harness.js";

/** A minimal LwM2M server for the client tests: a registration directory on a CoAP endpoint. */
export interface TestServer {
  readonly endpoint: CoapEndpoint;
  readonly registrations: { query: string[]; links: Link[] }[];
  readonly updates: { query: string[]; payload: string }[];
  readonly deregistrations: string[];
  /** Payloads of Send (POST /dp). */
  readonly sent: Uint8Array[];
  /** Override the answer to Register (default 2.01 with Location-Path rd/<n>). */
  registerCode: number;
  request(options: Omit<Parameters<CoapEndpoint["request"]>[0], "peer">): Promise<CoapMessage>;
  clientPeer: { address: string; port: number } | undefined;
  close(): void;
}

/** The server on a new UDP port, on `port`, or over `transport` (a DTLS server transport, say). */
export async function openTestServer(platform: Platform, port = 0, transport?: CoapTransport): Promise<TestServer> {
  const endpoint = transport ? await openEndpointOver(platform, transport) : port ? await openEndpointOnPort(platform, port) : await openEndpoint(platform);
  const server: TestServer = {
    endpoint,
    registrations: [],
    updates: [],
    deregistrations: [],
    sent: [],
    registerCode: ResponseCode.Created,
    clientPeer: undefined,
    request: (options) => {
      if (!server.clientPeer) throw new Error("no client registered");
      return endpoint.requestAsync({ ...options, peer: server.clientPeer });
    },
    close: () => endpoint.close(),
  };
  endpoint.setHandler((exchange: ServerExchange) => {
    const { method, path, query, payload, peer } = exchange.request;
    if (path[0] === "dp" && method === Method.POST) {
      server.sent.push(payload.slice());
      return exchange.respond({ code: ResponseCode.Changed });
    }
    if (path[0] !== "rd") return exchange.respond({ code: ResponseCode.NotFound });
    if (method === Method.POST && path.length === 1) {
      if (server.registerCode !== ResponseCode.Created) return exchange.respond({ code: server.registerCode });
      server.clientPeer = peer;
      server.registrations.push({ query: query.slice(), links: parseLinks(payload) });
      return exchange.respond({ code: ResponseCode.Created, locationPath: ["rd", String(server.registrations.length)] });
    }
    if (method === Method.POST && path.length === 2) {
      if (!(Number(path[1]) >= 1 && Number(path[1]) <= server.registrations.length)) return exchange.respond({ code: ResponseCode.NotFound });
      server.updates.push({ query: query.slice(), payload: utf8Decode(payload) });
      return exchange.respond({ code: ResponseCode.Changed });
    }
    if (method === Method.DELETE && path.length === 2) {
      server.deregistrations.push(path[1]!);
      return exchange.respond({ code: ResponseCode.Deleted });
    }
    exchange.respond({ code: ResponseCode.MethodNotAllowed });
  });
  return server;
}

export interface TestClient {
  readonly client: LwM2mClient;
  readonly store: ObjectStore;
  readonly events: LifecycleEvent[];
  readonly rebooted: string[];
}

/** A client with a Device object, registered with `server`. */
export async function openTestClient(platform: Platform, server: TestServer, overrides: Partial<LwM2mClientOptions> = {}): Promise<TestClient> {
  const transport = overrides.transport ?? new UdpTransport(platform.net);
  const store = overrides.store ?? createStandardStore();
  const device = store.get(3)!.createInstance(0);
  device.set(0, "Moddable Example");
  device.set(1, "XS-1");
  device.set(2, "SN-0001");
  device.set(3, "0.1.0");
  device.set(9, 87);
  device.set(11, new Map([[0, 0]]));
  device.set(16, "UQ");
  device.set(6, new Map([[0, 1], [1, 5]]));
  device.set(14, "+01:00");
  const rebooted: string[] = [];
  device.bind(4, { execute: (args) => void rebooted.push(args), executeAfterResponse: true });
  device.bind(13, { read: () => Math.floor(platform.time.wallClockMs() / 1000) });
  const events: LifecycleEvent[] = [];
  const client = new LwM2mClient({
    endpointName: "xs-test-client",
    time: platform.time,
    random: platform.random,
    servers: [{ uri: `coap://127.0.0.1:${peerOf(server.endpoint).port}`, lifetime: 60 }],
    coap: FAST,
    store,
    ...overrides,
    transport,
    onEvent: (event) => events.push(event),
  });
  await bound(platform, transport);
  client.start();
  await waitFor(platform, () => client.registrationState() === "registered" || events.some((e) => e.type === "error"), 3000, "registration");
  return { client, store, events, rebooted };
}

export function stopClient(platform: Platform, client: LwM2mClient): Promise<void> {
  return new Promise((resolve) => client.stop(resolve));
}

export { ContentFormat };

async function openEndpointOnPort(platform: Platform, port: number): Promise<CoapEndpoint> {
  return openEndpointOver(platform, new UdpTransport(platform.net, port));
}

async function openEndpointOver(platform: Platform, transport: CoapTransport): Promise<CoapEndpoint> {
  const endpoint = new Endpoint({ transport, time: platform.time, random: platform.random, parameters: FAST });
  await bound(platform, transport);
  return endpoint;
}
