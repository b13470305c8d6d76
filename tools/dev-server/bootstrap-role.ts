/**
 * The development server as a bootstrap server (LwM2M TS 1.1 §6.1): on a
 * Bootstrap-Request it answers 2.04, then provisions the client with one
 * NoSec account for the development server's own LwM2M address:
 * Bootstrap-Delete "/", Bootstrap-Discover "/" (to find instance ids that
 * leave the bootstrap account alone), Bootstrap-Write /0 and /1, and
 * Bootstrap-Finish. Writes use SenML CBOR or SenML JSON when the client asked
 * for them with pct, TLV otherwise.
 */
import type { Platform } from "../../hal/platform.js";
import { codeClass, codeString, ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint, type ServerExchange } from "../../modules/coap/endpoint.js";
import { utf8Decode, utf8Encode, type CoapMessage, type Peer } from "../../modules/coap/message.js";
import type { CoapParameters } from "../../modules/coap/params.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { parseLinks } from "../../modules/lwm2m/content/link-format.js";
import { encodeSenmlCbor, encodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ResourceEntry } from "../../modules/lwm2m/model/values.js";
import { ObjectId } from "../../modules/lwm2m/objects/object-ids.js";
import { SecurityResource } from "../../modules/lwm2m/objects/security.js";
import { ServerResource } from "../../modules/lwm2m/objects/server.js";
import { parsePathString } from "../../modules/lwm2m/path.js";
import { parseQuery } from "./strict/registration-rules.js";
import { StrictChecker } from "./strict/strict-checker.js";

/** How many bootstraps `bootstraps` keeps (the oldest go first). */
export const MAX_BOOTSTRAP_RECORDS = 100;
/** Security Mode 3: NoSec. */
const NO_SEC = 3;

export interface BootstrapRoleOptions {
  readonly platform: Platform;
  /** UDP port for the bootstrap server (0 picks one). */
  readonly port: number;
  readonly coap?: Partial<CoapParameters>;
  readonly checker: StrictChecker;
  /** The LwM2M server address clients are given (the development server's own). */
  readonly serverUri: () => string;
  /** Values of the provisioned Server instance. */
  readonly shortServerId?: number;
  readonly lifetime?: number;
  readonly binding?: string;
  readonly onRecord: (record: BootstrapRecord) => void;
}

export interface BootstrapStep {
  readonly operation: "Bootstrap-Delete" | "Bootstrap-Discover" | "Bootstrap-Write" | "Bootstrap-Finish";
  readonly path: string;
  /** The client's response code, e.g. "2.04". */
  readonly code: string;
}

/** One bootstrap as `server.bootstraps` and GET /bootstraps report it. */
export interface BootstrapRecord {
  readonly endpoint: string;
  /** "address:port" of the client. */
  readonly peer: string;
  /** ISO 8601 time of the Bootstrap-Request. */
  readonly at: string;
  /** Content-Format of the Bootstrap-Writes. */
  readonly format: number;
  readonly serverUri: string;
  readonly shortServerId: number;
  readonly steps: BootstrapStep[];
  status: "running" | "finished" | "failed";
  reason?: string;
}

export class BootstrapRole {
  readonly endpoint: CoapEndpoint;
  private readonly options: BootstrapRoleOptions;
  private readonly records: BootstrapRecord[] = [];

  constructor(options: BootstrapRoleOptions) {
    this.options = options;
    const platform = options.platform;
    const transport = options.checker.wrap(new UdpTransport(platform.net, options.port));
    this.endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters: options.coap, log: platform.log.child("bootstrap") });
    this.endpoint.setHandler((exchange) => this.handle(exchange));
  }

  get port(): number {
    return this.endpoint.localPort;
  }

  /** The bootstraps so far (the last MAX_BOOTSTRAP_RECORDS), oldest first. */
  list(): BootstrapRecord[] {
    return this.records.map((record) => ({ ...record, steps: record.steps.slice() }));
  }

  /** The endpoint name of the client at an address, while it bootstraps. */
  endpointAt(peer: Peer): string | undefined {
    const key = `${peer.address}:${peer.port}`;
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]!.peer === key) return this.records[i]!.endpoint;
    return undefined;
  }

  close(): void {
    this.endpoint.close();
  }

  private handle(exchange: ServerExchange): void {
    const { method, path, query, payload, peer, contentFormat } = exchange.request;
    if (path.length !== 1 || path[0] !== "bs") return exchange.respond({ code: ResponseCode.NotFound });
    if (method !== Method.POST) return exchange.respond({ code: ResponseCode.MethodNotAllowed });
    const parameters = parseQuery(query);
    const endpoint = parameters.find((parameter) => parameter.name === "ep")?.value;
    const problems = this.options.checker.checkBootstrapRequest({ query, payload, contentFormat }, peer, endpoint);
    if (this.options.checker.refuses(problems)) return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode(StrictChecker.diagnostic(problems)) });
    if (!endpoint) return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode("ep is required") });
    exchange.respond({ code: ResponseCode.Changed });
    if (this.records.some((record) => record.endpoint === endpoint && record.status === "running")) return;
    const pct = Number(parameters.find((parameter) => parameter.name === "pct")?.value);
    const format = pct === ContentFormat.SenmlCbor || pct === ContentFormat.SenmlJson ? pct : ContentFormat.LwM2mTlv;
    const record: BootstrapRecord = {
      endpoint,
      peer: `${peer.address}:${peer.port}`,
      at: new Date(this.options.platform.time.wallClockMs()).toISOString(),
      format,
      serverUri: this.options.serverUri(),
      shortServerId: this.options.shortServerId ?? 1,
      steps: [],
      status: "running",
    };
    this.records.push(record);
    if (this.records.length > MAX_BOOTSTRAP_RECORDS) this.records.splice(0, this.records.length - MAX_BOOTSTRAP_RECORDS);
    void this.provision(record, { address: peer.address, port: peer.port }).then(() => this.options.onRecord({ ...record, steps: record.steps.slice() }));
  }

  private async provision(record: BootstrapRecord, peer: Peer): Promise<void> {
    const step = async (operation: BootstrapStep["operation"], path: string, request: { method: number; accept?: number; contentFormat?: number; payload?: Uint8Array }): Promise<CoapMessage> => {
      const response = await this.endpoint.requestAsync({ ...request, peer, path });
      record.steps.push({ operation, path, code: codeString(response.code) });
      if (codeClass(response.code) !== 2) {
        throw new Error(`${operation} ${path} was answered ${codeString(response.code)}${response.payload.length ? ` (${utf8Decode(response.payload)})` : ""}`);
      }
      return response;
    };
    try {
      await step("Bootstrap-Delete", "/", { method: Method.DELETE });
      const discovered = await step("Bootstrap-Discover", "/", { method: Method.GET, accept: ContentFormat.LinkFormat });
      const used = usedInstances(discovered.payload);
      const securityId = freeId(used, ObjectId.Security);
      const serverId = freeId(used, ObjectId.Server);
      const writes = this.accountEntries(record, securityId, serverId);
      await step("Bootstrap-Write", "/0", { method: Method.PUT, contentFormat: record.format, payload: encode(ObjectId.Security, writes.security, record.format) });
      await step("Bootstrap-Write", "/1", { method: Method.PUT, contentFormat: record.format, payload: encode(ObjectId.Server, writes.server, record.format) });
      await step("Bootstrap-Finish", "/bs", { method: Method.POST });
      record.status = "finished";
    } catch (error) {
      record.status = "failed";
      record.reason = (error as Error).message;
    }
    const log = this.options.platform.log.child("bootstrap");
    const summary = record.steps.map((s) => `${s.operation} ${s.path} ${s.code}`).join(", ");
    if (record.status === "finished") log.info(`bootstrapped ${record.endpoint} with ${record.serverUri} (ssid ${record.shortServerId}): ${summary}`);
    else log.warn(`bootstrap of ${record.endpoint} failed: ${record.reason}; steps: ${summary || "none"}`);
  }

  private accountEntries(record: BootstrapRecord, securityId: number, serverId: number): { security: ResourceEntry[]; server: ResourceEntry[] } {
    const at = (objectId: number, instanceId: number, resourceId: number) => ({ objectId, instanceId, resourceId });
    const none = new Uint8Array(0);
    return {
      security: [
        { path: at(ObjectId.Security, securityId, SecurityResource.ServerUri), value: record.serverUri, type: "string" },
        { path: at(ObjectId.Security, securityId, SecurityResource.BootstrapServer), value: false, type: "boolean" },
        { path: at(ObjectId.Security, securityId, SecurityResource.SecurityMode), value: NO_SEC, type: "integer" },
        { path: at(ObjectId.Security, securityId, SecurityResource.PublicKeyOrIdentity), value: none, type: "opaque" },
        { path: at(ObjectId.Security, securityId, SecurityResource.ServerPublicKey), value: none, type: "opaque" },
        { path: at(ObjectId.Security, securityId, SecurityResource.SecretKey), value: none, type: "opaque" },
        { path: at(ObjectId.Security, securityId, SecurityResource.ShortServerId), value: record.shortServerId, type: "integer" },
      ],
      server: [
        { path: at(ObjectId.Server, serverId, ServerResource.ShortServerId), value: record.shortServerId, type: "integer" },
        { path: at(ObjectId.Server, serverId, ServerResource.Lifetime), value: this.options.lifetime ?? 300, type: "integer" },
        { path: at(ObjectId.Server, serverId, ServerResource.NotificationStoring), value: true, type: "boolean" },
        { path: at(ObjectId.Server, serverId, ServerResource.Binding), value: this.options.binding ?? "U", type: "string" },
      ],
    };
  }
}

function encode(objectId: number, entries: readonly ResourceEntry[], format: number): Uint8Array {
  const base = { objectId };
  if (format === ContentFormat.SenmlCbor) return encodeSenmlCbor(base, entries);
  if (format === ContentFormat.SenmlJson) return encodeSenmlJson(base, entries);
  return encodeTlv(base, entries, new Set());
}

/** Instance ids per object from a Bootstrap-Discover answer. */
function usedInstances(payload: Uint8Array): Map<number, Set<number>> {
  const used = new Map<number, Set<number>>();
  for (const link of parseLinks(payload)) {
    const path = parsePathString(link.target);
    if (!path || path.instanceId === undefined) continue;
    if (!used.has(path.objectId)) used.set(path.objectId, new Set());
    used.get(path.objectId)!.add(path.instanceId);
  }
  return used;
}

function freeId(used: Map<number, Set<number>>, objectId: number): number {
  const ids = used.get(objectId) ?? new Set<number>();
  let id = 0;
  while (ids.has(id)) id++;
  return id;
}
