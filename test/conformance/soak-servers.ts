import { ContentFormat, MessageType, Method, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint, type ObserveHandle, type ServerExchange } from "../../modules/coap/endpoint.js";
import { utf8Decode, type Peer } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ResourceEntry } from "../../modules/lwm2m/model/values.js";
import { AppDataResource, ObjectId, SecurityResource, ServerResource } from "../../modules/lwm2m/objects/index.js";
import type { VirtualPlatform } from "./virtual-platform.js";

const NO_SEC = 3;

/** A CoAP endpoint bound to `port` of the virtual network, answering with `handler`. */
function listenOn(platform: VirtualPlatform, port: number, handler: (exchange: ServerExchange) => void): CoapEndpoint {
  const transport = new UdpTransport(platform.net, port);
  transport.listen(() => undefined);
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random });
  endpoint.setHandler(handler);
  return endpoint;
}

/**
 * The LwM2M server of the soak test: a registration directory that observes
 * /19/0/0 after every Register (and after an Update when it has no live
 * observation), records every notification, and can be restarted, losing
 * its registrations as a real server process would.
 */
export class SoakLwm2mServer {
  readonly port: number;
  /** Payloads of /19/0/0 notifications (not of observe responses). */
  readonly received: string[] = [];
  registrations = 0;
  updates = 0;
  refusedUpdates = 0;
  deregistrations = 0;
  restarts = 0;
  /** One-shot actions run right after the next Register or Update, while a queue-mode client listens. */
  readonly onNextContact: ((peer: Peer) => void)[] = [];
  private readonly platform: VirtualPlatform;
  private endpoint: CoapEndpoint | undefined;
  private readonly liveLocations = new Set<string>();
  private observation: ObserveHandle | undefined;
  private nextLocation = 1;

  constructor(platform: VirtualPlatform, port: number) {
    this.platform = platform;
    this.port = port;
  }

  get uri(): string {
    return `coap://127.0.0.1:${this.port}`;
  }

  open(): void {
    this.endpoint = listenOn(this.platform, this.port, (exchange) => this.handle(exchange));
  }

  close(): void {
    this.endpoint?.close();
    this.endpoint = undefined;
    this.observation = undefined;
    this.liveLocations.clear();
  }

  /** Stops the server process; it comes back after `downMs` with an empty directory. */
  restart(downMs: number): void {
    this.restarts++;
    this.close();
    this.platform.time.setTimer(downMs, () => this.open());
  }

  /** Executes a resource on the registered client, e.g. "/1/0/9". */
  execute(peer: Peer, path: string): Promise<number> {
    const endpoint = this.endpoint;
    if (!endpoint) return Promise.resolve(0);
    return endpoint.requestAsync({ peer, method: Method.POST, path }).then(
      (response) => response.code,
      () => 0,
    );
  }

  private handle(exchange: ServerExchange): void {
    const { method, path, peer } = exchange.request;
    if (path[0] !== "rd") return exchange.respond({ code: ResponseCode.NotFound });
    if (method === Method.POST && path.length === 1) {
      const location = String(this.nextLocation++);
      this.liveLocations.add(location);
      this.registrations++;
      this.observation?.cancel(false);
      this.observation = undefined;
      exchange.respond({ code: ResponseCode.Created, locationPath: ["rd", location] });
      return this.contacted(peer);
    }
    if (method === Method.POST && path.length === 2) {
      if (!this.liveLocations.has(path[1]!)) {
        this.refusedUpdates++;
        return exchange.respond({ code: ResponseCode.NotFound });
      }
      this.updates++;
      exchange.respond({ code: ResponseCode.Changed });
      return this.contacted(peer);
    }
    if (method === Method.DELETE && path.length === 2 && this.liveLocations.delete(path[1]!)) {
      this.deregistrations++;
      return exchange.respond({ code: ResponseCode.Deleted });
    }
    exchange.respond({ code: ResponseCode.NotFound });
  }

  private contacted(peer: Peer): void {
    this.platform.time.setTimer(0, () => {
      if (!this.observation) this.observeUplink(peer);
      for (const action of this.onNextContact.splice(0)) action(peer);
    });
  }

  private observeUplink(peer: Peer): void {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    const path = `/${ObjectId.BinaryAppDataContainer}/0/${AppDataResource.Data}`;
    const handle = endpoint.observe({ peer, path }, (error, response) => {
      if (error || response!.code !== ResponseCode.Content) {
        if (this.observation === handle) this.observation = undefined;
        return;
      }
      // The observe response comes piggybacked; notifications come as CON or NON, and may overtake it on a reordering network.
      if (response!.type !== MessageType.Acknowledgement) this.received.push(utf8Decode(response!.payload));
    });
    this.observation = handle;
  }
}

/** Security (/0/1) and Server (/1/0) of one NoSec account, as a bootstrap server writes them (OMA-TLV). */
function accountTlv(serverUri: string, shortServerId: number, lifetime: number, binding: string): { security: Uint8Array; server: Uint8Array } {
  const securityPath = (resourceId: number) => ({ objectId: ObjectId.Security, instanceId: 1, resourceId });
  const serverPath = (resourceId: number) => ({ objectId: ObjectId.Server, instanceId: 0, resourceId });
  const security: ResourceEntry[] = [
    { path: securityPath(SecurityResource.ServerUri), value: serverUri, type: "string" },
    { path: securityPath(SecurityResource.BootstrapServer), value: false, type: "boolean" },
    { path: securityPath(SecurityResource.SecurityMode), value: NO_SEC, type: "integer" },
    { path: securityPath(SecurityResource.ShortServerId), value: shortServerId, type: "integer" },
  ];
  const server: ResourceEntry[] = [
    { path: serverPath(ServerResource.ShortServerId), value: shortServerId, type: "integer" },
    { path: serverPath(ServerResource.Lifetime), value: lifetime, type: "integer" },
    { path: serverPath(ServerResource.NotificationStoring), value: true, type: "boolean" },
    { path: serverPath(ServerResource.Binding), value: binding, type: "string" },
  ];
  return {
    security: encodeTlv({ objectId: ObjectId.Security, instanceId: 1 }, security, new Set()),
    server: encodeTlv({ objectId: ObjectId.Server, instanceId: 0 }, server, new Set()),
  };
}

/**
 * A bootstrap server doing what carrier platforms do on a Bootstrap-Request:
 * Delete "/", Write /0/1 and /1/0 (one account on the LwM2M server), Finish.
 * A lost step leaves the client to time out and ask again.
 */
export class SoakBootstrapServer {
  readonly port: number;
  requests = 0;
  finished = 0;
  readonly steps: string[] = [];
  private readonly platform: VirtualPlatform;
  private readonly account: { security: Uint8Array; server: Uint8Array };
  private endpoint: CoapEndpoint | undefined;

  constructor(platform: VirtualPlatform, port: number, target: { uri: string; shortServerId: number; lifetime: number; binding: string }) {
    this.platform = platform;
    this.port = port;
    this.account = accountTlv(target.uri, target.shortServerId, target.lifetime, target.binding);
  }

  get uri(): string {
    return `coap://127.0.0.1:${this.port}`;
  }

  open(): void {
    this.endpoint = listenOn(this.platform, this.port, (exchange) => {
      const { method, path, peer } = exchange.request;
      if (method !== Method.POST || path.length !== 1 || path[0] !== "bs") return exchange.respond({ code: ResponseCode.NotFound });
      this.requests++;
      exchange.respond({ code: ResponseCode.Changed });
      this.platform.time.setTimer(0, () => void this.provision(peer));
    });
  }

  close(): void {
    this.endpoint?.close();
    this.endpoint = undefined;
  }

  private async provision(peer: Peer): Promise<void> {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    const tlv = ContentFormat.LwM2mTlv;
    const plan: [string, Parameters<CoapEndpoint["requestAsync"]>[0]][] = [
      ["delete /", { peer, method: Method.DELETE, path: "/" }],
      ["write /0/1", { peer, method: Method.PUT, path: "/0/1", contentFormat: tlv, payload: this.account.security }],
      ["write /1/0", { peer, method: Method.PUT, path: "/1/0", contentFormat: tlv, payload: this.account.server }],
      ["finish", { peer, method: Method.POST, path: "/bs" }],
    ];
    for (const [name, request] of plan) {
      try {
        const response = await endpoint.requestAsync(request);
        this.steps.push(`${name} ${response.code >> 5}.${String(response.code & 31).padStart(2, "0")}`);
        if (response.code >> 5 !== 2) return;
      } catch (error) {
        this.steps.push(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
    this.finished++;
  }
}

/** Formats a virtual time as "day D hh:mm" for assertion messages. */
export function dayTime(ms: number): string {
  const minutes = Math.floor(ms / 60000);
  return `day ${Math.floor(minutes / 1440)} ${String(Math.floor((minutes % 1440) / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

export { utf8Decode };
