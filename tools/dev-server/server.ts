import { EventEmitter } from "node:events";
import type { Platform } from "../../hal/platform.js";
import { codeClass, codeString, ContentFormat, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint, type ObserveHandle, type ServerExchange } from "../../modules/coap/endpoint.js";
import type { CoapError } from "../../modules/coap/errors.js";
import { getUintOption, toHex, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";
import { resolveParameters, type CoapParameters } from "../../modules/coap/params.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { parseLinks } from "../../modules/lwm2m/content/link-format.js";
import { formatPath, parsePathString, type LwM2mPath } from "../../modules/lwm2m/path.js";
import { BootstrapRole, type BootstrapRecord } from "./bootstrap-role.js";
import { DualTransport, type DevServerDtlsOptions } from "./dtls-endpoint.js";
import { CommandQueue, type Command } from "./commands.js";
import { decodeResult, encodeWriteValue, type DmResult } from "./dm-payloads.js";
import type { FotaEvent } from "./fota/events.js";
import { FotaService, type FotaServiceOptions } from "./fota/fota-service.js";
import { EventLog, type DroppedEvent, type FloodControlOptions } from "./flood-control.js";
import { isQueueMode, RequestQueue, type PresenceEvent, type RequestQueueOptions } from "./request-queue.js";
import { ClientRegistry, parseLifetime, parseRegisterQuery, type ClientRecord } from "./registry.js";
import { parseQuery } from "./strict/registration-rules.js";
import { StrictChecker } from "./strict/strict-checker.js";
import type { Problem, Violation, ViolationReport } from "./strict/violations.js";

export type { DmResult };

export type ServerEvent =
  | { type: "registered"; endpoint: string; location: string; lifetime: number; binding: string; version: string; objects: string[]; pskIdentity?: string }
  | { type: "updated"; endpoint: string }
  | { type: "deregistered"; endpoint: string; reason: "deregister" | "expired" }
  | { type: "notification"; endpoint: string; path: string; result: DmResult }
  | { type: "send"; endpoint: string; result: DmResult }
  | { type: "command"; command: ReturnType<typeof describeCommand> }
  | { type: "bootstrap"; record: BootstrapRecord }
  | PresenceEvent
  /** Only from `eventLog`: a client's events that flood control did not pass on. */
  | DroppedEvent
  | FotaEvent;

export interface DevServerOptions {
  readonly platform: Platform;
  /** UDP port for CoAP (default 5683; 0 picks one). */
  readonly port?: number;
  readonly coap?: Partial<CoapParameters>;
  /** Paths observed on every client as it registers (as an IoT platform subscribes to /19/0/0). */
  readonly autoObserve?: readonly string[];
  /**
   * Strict mode (default): a Register or Update that breaks a rule of the
   * LwM2M TS, RFC 6690 or RFC 7252 is refused with 4.00 and a diagnostic
   * naming the rule. Either way every violation by a client is logged,
   * counted and listed in `violations`.
   */
  readonly strict?: boolean;
  /**
   * Also serve as a bootstrap server on this UDP port (0 picks one): clients
   * asking it are provisioned with this server's LwM2M address, NoSec.
   */
  readonly bootstrap?: { readonly port: number; readonly shortServerId?: number; readonly lifetime?: number; readonly binding?: string; /** Host in the server URI it provisions (default 127.0.0.1). */ readonly serverHost?: string };
  /** Also listen for coaps:// (DTLS 1.2 PSK) on this port, with the same handlers and checks. */
  readonly dtls?: DevServerDtlsOptions;
  /** Firmware updates: hosted images (CoAP /fw/NAME, HTTP /images/NAME), progress, update jobs (fota/). */
  readonly fota?: FotaServiceOptions;
  /** Deadlines of device-management requests, and queue mode (request-queue.ts). */
  readonly requests?: RequestQueueOptions;
  /** Flood control of what is printed and kept (flood-control.ts). */
  readonly events?: FloodControlOptions;
}

export function describeCommand(command: Command) {
  return { id: command.id, endpoint: command.endpoint, status: command.status, result: command.result, dataHex: toHex(command.data), createdAt: command.createdAt, expiresAt: command.expiresAt };
}

/** The downlink path where Agent Tiny devices take commands: /19/1/0, resource instance 0. */
export const COMMAND_PATH = Object.freeze({ objectId: 19, instanceId: 1, resourceId: 0, resourceInstanceId: 0 });

/**
 * A development LwM2M server: registration directory, device management of
 * every registered client, observations with a live notification feed, and
 * downlink commands to /19/1/0 delivered at once or cached until the device
 * is reachable, with an expiry.
 */
export class LwM2mDevServer extends EventEmitter {
  readonly registry = new ClientRegistry();
  readonly commands = new CommandQueue();
  readonly endpoint: CoapEndpoint;
  readonly fota: FotaService;
  /** Device-management requests in line per client, with their deadlines; queue-mode clients' presence. */
  readonly requests: RequestQueue;
  /** The events to print and keep: those of "event", with each client's flood held back and counted. */
  readonly eventLog: EventLog;
  private readonly platform: Platform;
  private readonly definitions = createStandardStore();
  private readonly observations = new Map<string, ObserveHandle>();
  private readonly expiryTimer: ReturnType<typeof setInterval>;
  private readonly autoObserve: readonly string[];
  private readonly checker: StrictChecker;
  private readonly bootstrapRole: BootstrapRole | undefined;
  private readonly dual: DualTransport | undefined;

  constructor(options: DevServerOptions) {
    super();
    this.platform = options.platform;
    this.autoObserve = options.autoObserve ?? [];
    this.checker = new StrictChecker({
      strict: options.strict ?? true,
      time: options.platform.time,
      log: options.platform.log,
      parameters: resolveParameters(options.coap),
      endpointOf: (peer) => this.clientAt(peer)?.endpoint ?? this.bootstrapRole?.endpointAt(peer),
      onViolation: (violation: Violation) => this.emit("violation", violation),
    });
    this.dual = options.dtls && new DualTransport(options.platform, options.port ?? 5683, options.dtls);
    const transport = this.checker.wrap(this.dual ?? new UdpTransport(options.platform.net, options.port ?? 5683));
    this.endpoint = new CoapEndpoint({ transport, time: options.platform.time, random: options.platform.random, parameters: options.coap, log: options.platform.log.child("coap") });
    this.endpoint.setHandler((exchange) => this.handle(exchange));
    this.fota = new FotaService(this, options.platform.time, options.fota);
    this.requests = new RequestQueue(this, options.platform.time, (endpoint) => isQueueMode(this.registry.get(endpoint)), options.requests);
    this.eventLog = new EventLog(this, options.platform.time, options.events);
    this.expiryTimer = setInterval(() => this.expire(), 1000);
    const bootstrap = options.bootstrap;
    this.bootstrapRole = bootstrap && new BootstrapRole({
      ...bootstrap,
      platform: options.platform,
      coap: options.coap,
      checker: this.checker,
      serverUri: () => `coap://${bootstrap.serverHost ?? "127.0.0.1"}:${this.port}`,
      onRecord: (record) => this.emitEvent({ type: "bootstrap", record }),
    });
  }

  get port(): number {
    return this.endpoint.localPort;
  }

  /** The DTLS (coaps://) port; 0 without the DTLS endpoint (or before it is bound). */
  get dtlsPort(): number {
    return this.dual?.dtlsPort ?? 0;
  }

  /** Open DTLS sessions and handshakes under way at the DTLS endpoint. */
  get dtlsSessions(): { readonly open: number; readonly handshaking: number } {
    return this.dual?.dtls.sessionCounts ?? { open: 0, handshaking: 0 };
  }

  /** The PSK identity of a peer's open DTLS session; undefined for plain CoAP. */
  pskIdentityOf(peer: { address: string; port: number }): string | undefined {
    return this.dual?.dtls.identityOf(peer);
  }

  /** The bootstrap server's UDP port; 0 without the bootstrap role (or before it is bound). */
  get bootstrapPort(): number {
    return this.bootstrapRole?.port ?? 0;
  }

  /** What the bootstrap role did for each client (the last MAX_BOOTSTRAP_RECORDS), oldest first. */
  get bootstraps(): BootstrapRecord[] {
    return this.bootstrapRole?.list() ?? [];
  }

  /** True in strict mode: Register/Update breaking a rule are refused. */
  get strict(): boolean {
    return this.checker.strict;
  }

  /** Rule violations by clients: the total count and the most recent ones (also emitted as "violation" events). */
  get violations(): ViolationReport {
    return this.checker.report();
  }

  close(): void {
    clearInterval(this.expiryTimer);
    this.fota.close();
    this.requests.close();
    this.eventLog.close();
    // Closing the endpoint ends every exchange, observations included; cancelling them
    // one by one (reactively) would leave an EXCHANGE_LIFETIME timer each, keeping Node alive.
    this.observations.clear();
    this.endpoint.close();
    this.bootstrapRole?.close();
  }

  /** The client registered at an address (the one heard from last, if several). */
  clientAt(peer: { address: string; port: number }): ClientRecord | undefined {
    let found: ClientRecord | undefined;
    for (const record of this.registry.list()) {
      if (record.peer.address === peer.address && record.peer.port === peer.port && (!found || record.lastSeen >= found.lastSeen)) found = record;
    }
    return found;
  }

  private emitEvent(event: ServerEvent): void {
    this.emit("event", event);
  }

  private now(): number {
    return this.platform.time.wallClockMs();
  }

  // ------------------------------------------------------------ registration interface

  private handle(exchange: ServerExchange): void {
    const { method, path, payload, peer } = exchange.request;
    if (path[0] === "rd") {
      if (method === Method.POST && path.length === 1) return this.register(exchange);
      const record = this.registry.byLocation(path);
      if (!record) return exchange.respond({ code: ResponseCode.NotFound });
      if (method === Method.POST) return this.update(exchange, record);
      if (method === Method.DELETE) {
        this.checker.checkDeregister(exchange.request, peer, record.endpoint);
        this.registry.remove(record);
        exchange.respond({ code: ResponseCode.Deleted });
        this.emitEvent({ type: "deregistered", endpoint: record.endpoint, reason: "deregister" });
        return;
      }
      return exchange.respond({ code: ResponseCode.MethodNotAllowed });
    }
    if (path[0] === "fw") return this.fota.serveCoap(exchange);
    if (path[0] === "dp" && method === Method.POST) {
      const record = this.registry.list().find((candidate) => candidate.peer.address === peer.address && candidate.peer.port === peer.port);
      if (!record) return exchange.respond({ code: ResponseCode.Forbidden });
      exchange.respond({ code: ResponseCode.Changed });
      this.emitEvent({ type: "send", endpoint: record.endpoint, result: this.decode({ objectId: 0 }, ResponseCode.Changed, exchange.request.contentFormat, payload) });
      return;
    }
    exchange.respond({ code: ResponseCode.NotFound });
  }

  /** In strict mode, answers a request that broke rules with 4.00 and the rules as diagnostic payload. */
  private refused(exchange: ServerExchange, problems: readonly Problem[]): boolean {
    if (!this.checker.refuses(problems)) return false;
    exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode(StrictChecker.diagnostic(problems)) });
    return true;
  }

  private register(exchange: ServerExchange): void {
    const { query, payload, peer, contentFormat } = exchange.request;
    const params = parseRegisterQuery(query);
    const problems = this.checker.checkRegister(exchange.request, peer, typeof params === "string" ? undefined : params.endpoint);
    if (this.refused(exchange, problems)) return;
    if (typeof params === "string") return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode(params) });
    if (contentFormat !== undefined && contentFormat !== ContentFormat.LinkFormat) return exchange.respond({ code: ResponseCode.UnsupportedContentFormat });
    let record: ClientRecord;
    try {
      record = this.registry.register(params, peer, payload, this.now(), this.pskIdentityOf(peer));
    } catch {
      return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode("bad link-format payload") });
    }
    exchange.respond({ code: ResponseCode.Created, locationPath: record.location });
    for (const target of this.autoObserve) {
      this.observe(record.endpoint, target).catch((error: Error) => this.platform.log.warn(`auto-observe ${target} on ${record.endpoint}: ${error.message}`));
    }
    this.emitEvent({ type: "registered", endpoint: record.endpoint, location: `/${record.location.join("/")}`, lifetime: record.lifetime, binding: record.binding, version: record.version, objects: record.links.map((l) => l.target), ...(record.pskIdentity !== undefined ? { pskIdentity: record.pskIdentity } : {}) });
    this.deliverWaiting(record);
  }

  private update(exchange: ServerExchange, record: ClientRecord): void {
    const { query, payload, peer, contentFormat } = exchange.request;
    const problems = this.checker.checkUpdate(exchange.request, peer, record.endpoint, record.version);
    if (this.refused(exchange, problems)) return;
    if (payload.length && contentFormat !== undefined && contentFormat !== ContentFormat.LinkFormat) return exchange.respond({ code: ResponseCode.UnsupportedContentFormat });
    let links = record.links;
    if (payload.length) {
      try {
        links = parseLinks(payload);
      } catch {
        return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode("bad link-format payload") });
      }
    }
    for (const { name, value } of parseQuery(query)) {
      const lifetime = name === "lt" ? parseLifetime(value) : undefined;
      if (lifetime !== undefined) record.lifetime = lifetime;
      if (name === "b" && value) record.binding = value;
    }
    record.links = links;
    record.peer = peer;
    record.pskIdentity = this.pskIdentityOf(peer);
    record.lastSeen = this.now();
    exchange.respond({ code: ResponseCode.Changed });
    this.emitEvent({ type: "updated", endpoint: record.endpoint });
    this.deliverWaiting(record);
  }

  private expire(): void {
    for (const record of this.registry.expired(this.now())) {
      this.registry.remove(record);
      this.emitEvent({ type: "deregistered", endpoint: record.endpoint, reason: "expired" });
    }
    for (const command of this.commands.list()) {
      if (command.status === "waiting" && command.expiresAt <= this.now()) this.setStatus(command, "expired");
    }
  }

  // ------------------------------------------------------------ device management

  private client(endpoint: string): ClientRecord {
    const record = this.registry.get(endpoint);
    if (!record) throw new Error(`no client "${endpoint}" is registered`);
    return record;
  }

  private path(text: string): LwM2mPath {
    const path = parsePathString(text);
    if (!path) throw new Error(`"${text}" is not an LwM2M path`);
    return path;
  }

  private async dm(endpoint: string, path: LwM2mPath, request: Omit<Parameters<CoapEndpoint["request"]>[0], "peer" | "path">): Promise<DmResult> {
    this.client(endpoint);
    // In line behind the client's other requests, sent when it is awake (queue mode), cancelled at the deadline.
    const response = await this.requests.run<CoapMessage>(endpoint, (settle) => this.endpoint.request({ ...request, peer: this.client(endpoint).peer, path: formatPath(path) }, settle));
    return this.decode(path, response.code, getUintOption(response, OptionNumber.ContentFormat), response.payload);
  }

  /** Decodes a payload for display: values for TLV, SenML and text, text for link-format. */
  decode(path: LwM2mPath, code: number, format: number | undefined, payload: Uint8Array): DmResult {
    return decodeResult(this.definitions, path, code, format, payload);
  }

  read(endpoint: string, pathText: string, accept?: number): Promise<DmResult> {
    return this.dm(endpoint, this.path(pathText), { method: Method.GET, ...(accept !== undefined ? { accept } : {}) });
  }

  discover(endpoint: string, pathText: string): Promise<DmResult> {
    return this.dm(endpoint, this.path(pathText), { method: Method.GET, accept: ContentFormat.LinkFormat });
  }

  /**
   * Writes a value. `value` is typed by the object definition (a string for
   * string resources, a number, a boolean, {hex} for opaque); or pass a raw
   * payload with its format.
   */
  write(endpoint: string, pathText: string, value: unknown, options: { format?: number; partial?: boolean; payload?: Uint8Array } = {}): Promise<DmResult> {
    const path = this.path(pathText);
    if (options.payload) return this.dm(endpoint, path, { method: options.partial ? Method.POST : Method.PUT, contentFormat: options.format ?? ContentFormat.OctetStream, payload: options.payload });
    if (path.resourceId === undefined) throw new Error("give a resource path, or a payload with its format");
    const definition = this.definitions.get(path.objectId)?.resource(path.resourceId);
    if (!definition) throw new Error(`resource ${pathText} is not in the standard definitions: give a payload and format`);
    const { format, payload } = encodeWriteValue(path, definition, value, options.format);
    return this.dm(endpoint, path, { method: options.partial ? Method.POST : Method.PUT, contentFormat: format, payload });
  }

  execute(endpoint: string, pathText: string, args = ""): Promise<DmResult> {
    return this.dm(endpoint, this.path(pathText), { method: Method.POST, ...(args ? { payload: utf8Encode(args) } : {}) });
  }

  create(endpoint: string, pathText: string, format: number, payload: Uint8Array): Promise<DmResult> {
    return this.dm(endpoint, this.path(pathText), { method: Method.POST, contentFormat: format, payload });
  }

  delete(endpoint: string, pathText: string): Promise<DmResult> {
    return this.dm(endpoint, this.path(pathText), { method: Method.DELETE });
  }

  writeAttributes(endpoint: string, pathText: string, attributes: Record<string, number | null>): Promise<DmResult> {
    const query = Object.entries(attributes).map(([name, value]) => (value === null ? name : `${name}=${value}`));
    return this.dm(endpoint, this.path(pathText), { method: Method.PUT, query });
  }

  /** Observes a path; notifications appear as "notification" events. Resolves with the first response. */
  observe(endpoint: string, pathText: string, accept?: number): Promise<DmResult> {
    this.client(endpoint);
    const path = this.path(pathText);
    const key = `${endpoint} ${formatPath(path)}`;
    this.observations.get(key)?.cancel(false);
    // In line with the client's other requests (queue mode: sent when it is awake); at the deadline it is forgotten.
    return this.requests.run<DmResult>(endpoint, (settle) => {
      let first = true;
      const handle = this.endpoint.observe({ peer: this.client(endpoint).peer, path: formatPath(path), ...(accept !== undefined ? { accept } : {}) }, (error: CoapError | undefined, response?: CoapMessage) => {
        if (error) {
          this.observations.delete(key);
          if (first) settle(error);
          return;
        }
        const result = this.decode(path, response!.code, getUintOption(response!, OptionNumber.ContentFormat), response!.payload);
        if (first) {
          first = false;
          if (getUintOption(response!, OptionNumber.Observe) === undefined) this.observations.delete(key);
          settle(undefined, result);
        } else this.emitEvent({ type: "notification", endpoint, path: formatPath(path), result });
      });
      this.observations.set(key, handle);
      return {
        cancel: () => {
          if (this.observations.get(key) === handle) this.observations.delete(key);
          handle.cancel(false);
        },
      };
    });
  }

  /** Ends an observation: proactively (GET with Observe=1), or by forgetting it (a rebooted device has). */
  cancelObservation(endpoint: string, pathText: string, proactive = true): boolean {
    const key = `${endpoint} ${formatPath(this.path(pathText))}`;
    const handle = this.observations.get(key);
    if (!handle) return false;
    this.observations.delete(key);
    handle.cancel(proactive);
    return true;
  }

  listObservations(): { endpoint: string; path: string }[] {
    return Array.from(this.observations.keys()).map((key) => {
      const [endpoint, path] = key.split(" ") as [string, string];
      return { endpoint, path };
    });
  }

  // ------------------------------------------------------------ downlink commands

  /**
   * Queues a command for /19/1/0. `immediate` sends it now and fails it if
   * the device is not registered; otherwise it waits (status "waiting") until
   * the device registers or updates, or until it expires.
   */
  sendCommand(endpoint: string, data: Uint8Array, options: { expiresInMs?: number; immediate?: boolean } = {}): Command {
    const command = this.commands.add(endpoint, data, this.now(), options.expiresInMs ?? 24 * 3600 * 1000);
    this.emitEvent({ type: "command", command: describeCommand(command) });
    const record = this.registry.get(endpoint);
    if (record) this.deliver(command, record);
    else if (options.immediate) this.setStatus(command, "failed", "not registered");
    return command;
  }

  cancelCommand(id: number): boolean {
    const command = this.commands.get(id);
    if (!command || command.status !== "waiting") return false;
    this.setStatus(command, "cancelled");
    return true;
  }

  private deliverWaiting(record: ClientRecord): void {
    for (const command of this.commands.waitingFor(record.endpoint)) this.deliver(command, record);
  }

  private deliver(command: Command, record: ClientRecord): void {
    if (command.expiresAt <= this.now()) return this.setStatus(command, "expired");
    this.setStatus(command, "sent");
    const request = { peer: record.peer, method: Method.PUT, path: formatPath(COMMAND_PATH), contentFormat: ContentFormat.OctetStream, payload: command.data, onAcknowledged: () => this.setStatus(command, "delivered") };
    this.endpoint.request(request, (error, response) => {
      if (error) {
        if (error.kind === "timeout") {
          // Unreachable (asleep or gone): back to waiting until the next Update, unless it has expired.
          this.setStatus(command, command.expiresAt <= this.now() ? "timeout" : "waiting", error.message);
        } else this.setStatus(command, "failed", error.message);
        return;
      }
      this.setStatus(command, codeClass(response!.code) === 2 ? "success" : "failed", codeString(response!.code));
    });
  }

  private setStatus(command: Command, status: Command["status"], result?: string): void {
    command.status = status;
    if (result !== undefined) command.result = result;
    command.updatedAt = this.now();
    this.emitEvent({ type: "command", command: describeCommand(command) });
  }
}
