/**
 * A development server with its HTTP API, LwM2M clients (ours, with any CoAP
 * parameters and object store) and hand-scripted devices, for the
 * dev-server-dm and dev-server-models tests. Waits are on events, never on
 * the clock.
 */
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import type { Platform } from "../../hal/platform.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint, type ServerExchange } from "../../modules/coap/endpoint.js";
import { utf8Decode, utf8Encode, type Peer } from "../../modules/coap/message.js";
import type { CoapParameters } from "../../modules/coap/params.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { LwM2mClient } from "../../modules/lwm2m/client.js";
import type { ObjectStore } from "../../modules/lwm2m/model/object-store.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type DevServerOptions, type ServerEvent } from "../../tools/dev-server/server.js";

export interface Rig {
  readonly platform: Platform;
  readonly server: LwM2mDevServer;
  readonly events: ServerEvent[];
  readonly warnings: string[];
  api(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Resolves with the first event (from now on, or already seen after `since`) that matches. */
  event<T extends ServerEvent>(match: (event: ServerEvent) => event is T, since?: number): Promise<T>;
  event(match: (event: ServerEvent) => boolean, since?: number): Promise<ServerEvent>;
  /** A client of ours; started, resolved once registered. */
  client(endpointName: string, store: ObjectStore, options?: { coap?: Partial<CoapParameters>; lifetime?: number }): Promise<LwM2mClient>;
  stopClient(client: LwM2mClient): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(options: Omit<DevServerOptions, "platform"> = {}): Promise<Rig> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-rig-"));
  const warnings: string[] = [];
  // Warnings and errors are kept for the tests (auto-observe, clients without /19), not printed.
  const platform = createNodePlatform({ stateDir, logLevel: "warn", sink: { writeLine: (line: string) => void warnings.push(line) } });
  const server = new LwM2mDevServer({ port: 0, ...options, platform });
  const events: ServerEvent[] = [];
  const waiters: { match: (event: ServerEvent) => boolean; resolve: (event: ServerEvent) => void }[] = [];
  server.on("event", (event: ServerEvent) => {
    events.push(event);
    for (const waiter of waiters.slice()) {
      if (!waiter.match(event)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  });
  while (server.port === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  const httpServer: http.Server = await startHttpApi(server, 0);
  const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const clients: LwM2mClient[] = [];
  const rig: Rig = {
    platform,
    server,
    events,
    warnings,
    async api(method, route, body) {
      const response = await fetch(`${base}${route}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    },
    event(match: (event: ServerEvent) => boolean, since?: number): Promise<any> {
      if (since !== undefined) {
        const seen = events.slice(since).find(match);
        if (seen) return Promise.resolve(seen);
      }
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async client(endpointName, store, clientOptions = {}) {
      const client = new LwM2mClient({
        endpointName,
        transport: new UdpTransport(platform.net),
        time: platform.time,
        random: platform.random,
        servers: [{ uri: `coap://127.0.0.1:${server.port}`, lifetime: clientOptions.lifetime ?? 300 }],
        store,
        ...(clientOptions.coap ? { coap: clientOptions.coap } : {}),
      });
      clients.push(client);
      while (client.endpoint.localPort === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      const registered = rig.event((event) => event.type === "registered" && event.endpoint === endpointName);
      client.start();
      await registered;
      return client;
    },
    async stopClient(client) {
      clients.splice(clients.indexOf(client), 1);
      await new Promise<void>((resolve) => client.stop(resolve));
    },
    async close() {
      for (const client of clients.splice(0)) await new Promise<void>((resolve) => client.stop(resolve));
      httpServer.closeAllConnections();
      httpServer.close();
      server.close();
      platform.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return rig;
}

export interface ScriptedRequest {
  readonly method: number;
  readonly path: string;
  readonly accept: number | undefined;
  readonly contentFormat: number | undefined;
  readonly query: readonly string[];
  readonly payload: Uint8Array;
}

/**
 * A device written by hand on our CoAP endpoint: registers with the link
 * payload and query it is given, records every request and answers with
 * `answer` (4.04 by default).
 */
export class ScriptedDevice {
  readonly requests: ScriptedRequest[] = [];
  answer: (request: ScriptedRequest, exchange: ServerExchange) => void = (_request, exchange) => exchange.respond({ code: ResponseCode.NotFound });
  private readonly endpoint: CoapEndpoint;
  private readonly server: Peer;
  private location: string[] = [];

  constructor(platform: Platform, serverPort: number) {
    this.server = { address: "127.0.0.1", port: serverPort };
    this.endpoint = new CoapEndpoint({ transport: new UdpTransport(platform.net), time: platform.time, random: platform.random, parameters: { maxRetransmit: 0 } });
    this.endpoint.setHandler((exchange) => {
      const { method, path, query, payload, accept, contentFormat } = exchange.request;
      const request = { method, path: `/${path.join("/")}`, accept, contentFormat, query, payload: payload.slice() };
      this.requests.push(request);
      this.answer(request, exchange);
    });
  }

  async register(endpointName: string, links: string, query: readonly string[] = ["lt=300", "lwm2m=1.1"]): Promise<void> {
    while (this.endpoint.localPort === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const response = await this.endpoint.requestAsync({ peer: this.server, method: Method.POST, path: "/rd", query: [`ep=${endpointName}`, ...query], contentFormat: ContentFormat.LinkFormat, payload: utf8Encode(links) });
    if (response.code !== ResponseCode.Created) throw new Error(`registration refused: ${utf8Decode(response.payload)}`);
    this.location = response.options.filter((option) => option.number === 8).map((option) => utf8Decode(option.value));
  }

  async deregister(): Promise<void> {
    await this.endpoint.requestAsync({ peer: this.server, method: Method.DELETE, path: `/${this.location.join("/")}` });
  }

  close(): void {
    this.endpoint.close();
  }
}
