import { EventEmitter } from "node:events";
import type { Platform } from "../../hal/platform.js";
import { Method, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint, type ServerExchange } from "../../modules/coap/endpoint.js";
import { resolveParameters, type CoapParameters } from "../../modules/coap/params.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { parsePathString } from "../../modules/lwm2m/path.js";
import { BootstrapRole, type BootstrapRecord } from "./bootstrap-role.js";
import { CommandDelivery, hasObject19, type CommandView } from "./command-delivery.js";
import { CommandQueue, type Command } from "./commands.js";
import { DeviceManagement, type FormatInput } from "./device-management.js";
import type { DmResult } from "./dm-payloads.js";
import { DualTransport, type DevServerDtlsOptions } from "./dtls-endpoint.js";
import type { FotaEvent } from "./fota/events.js";
import { FotaService, type FotaServiceOptions } from "./fota/fota-service.js";
import { loadModelDirectory, ObjectModels } from "./models.js";
import { RegistrationInterface, type GoneReason } from "./registration-interface.js";
import { ClientRegistry, type ClientRecord } from "./registry.js";
import { EventLog, type DroppedEvent, type FloodControlOptions } from "./flood-control.js";
import { isQueueMode, RequestQueue, type PresenceEvent, type RequestQueueOptions } from "./request-queue.js";
import { StrictChecker } from "./strict/strict-checker.js";
import type { Violation, ViolationReport } from "./strict/violations.js";

export type { DmResult, FormatInput };
export { COMMAND_PATH, describeCommand } from "./command-delivery.js";

export type ServerEvent =
  | { type: "registered"; endpoint: string; location: string; lifetime: number; binding: string; version: string; objects: string[]; pskIdentity?: string; object19: boolean; warning?: string }
  | { type: "updated"; endpoint: string }
  | { type: "deregistered"; endpoint: string; reason: GoneReason }
  | { type: "notification"; endpoint: string; path: string; result: DmResult }
  | { type: "send"; endpoint: string; result: DmResult }
  | { type: "command"; command: CommandView }
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
  /** A directory of OMA DDF object model files (*.xml) for objects outside the standard set (`--models DIR`); read at construction. */
  readonly modelsDir?: string;
  /** Deadlines of device-management requests, and queue mode (request-queue.ts). */
  readonly requests?: RequestQueueOptions;
  /** Flood control of what is printed and kept (flood-control.ts). */
  readonly events?: FloodControlOptions;
}

/** What a create takes: a raw payload with its format, or `{resourceId: value}` typed by the object model. */
export interface CreateContent {
  readonly format?: FormatInput;
  readonly payload?: Uint8Array;
  readonly values?: Record<string, unknown>;
}

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
  /** The object models: the standard objects and those loaded with `modelsDir`. */
  readonly models: ObjectModels;
  /** Device-management requests in line per client, with their deadlines; queue-mode clients' presence. */
  readonly requests: RequestQueue;
  /** The events to print and keep: those of "event", with each client's flood held back and counted. */
  readonly eventLog: EventLog;
  private readonly platform: Platform;
  private readonly expiryTimer: ReturnType<typeof setInterval>;
  private readonly autoObserve: readonly string[];
  private readonly checker: StrictChecker;
  private readonly bootstrapRole: BootstrapRole | undefined;
  private readonly dual: DualTransport | undefined;
  private readonly registration: RegistrationInterface;
  private readonly dm: DeviceManagement;
  private readonly delivery: CommandDelivery;

  constructor(options: DevServerOptions) {
    super();
    this.platform = options.platform;
    this.autoObserve = options.autoObserve ?? [];
    this.models = new ObjectModels(options.modelsDir !== undefined ? loadModelDirectory(options.modelsDir) : []);
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
    const now = () => this.platform.time.wallClockMs();
    this.dm = new DeviceManagement({
      endpoint: this.endpoint,
      registry: this.registry,
      models: this.models,
      notification: (endpoint, path, result) => this.emitEvent({ type: "notification", endpoint, path, result }),
      warn: (message) => this.platform.log.warn(message),
      run: (endpoint, start) => this.requests.run(endpoint, start),
    });
    this.delivery = new CommandDelivery({ endpoint: this.endpoint, queue: this.commands, client: (endpoint) => this.registry.get(endpoint), now, changed: (command) => this.emitEvent({ type: "command", command }) });
    this.registration = new RegistrationInterface({
      registry: this.registry,
      checker: this.checker,
      now,
      pskIdentityOf: (peer) => this.pskIdentityOf(peer),
      registered: (record, replaced) => this.registered(record, replaced),
      updated: (record) => {
        this.emitEvent({ type: "updated", endpoint: record.endpoint });
        this.delivery.deliverWaiting(record);
      },
      gone: (record, reason) => {
        this.dm.observations.dropClient(record.endpoint);
        this.emitEvent({ type: "deregistered", endpoint: record.endpoint, reason });
      },
    });
    this.fota = new FotaService(this, options.platform.time, options.fota);
    this.requests = new RequestQueue(this, options.platform.time, (endpoint) => isQueueMode(this.registry.get(endpoint)), options.requests);
    this.eventLog = new EventLog(this, options.platform.time, options.events);
    this.expiryTimer = setInterval(() => {
      this.registration.expire();
      this.delivery.expire();
    }, 1000);
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
    this.dm.observations.clear();
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

  private handle(exchange: ServerExchange): void {
    const { method, path, payload, peer, contentFormat } = exchange.request;
    if (path[0] === "rd") return this.registration.handle(exchange);
    if (path[0] === "fw") return this.fota.serveCoap(exchange);
    if (path[0] === "dp" && method === Method.POST) {
      // Send (LwM2M 1.1 §6.4.2): SenML naming whole paths; a Block1 Send arrives reassembled.
      const record = this.clientAt(peer);
      if (!record) return exchange.respond({ code: ResponseCode.Forbidden });
      exchange.respond({ code: ResponseCode.Changed });
      this.emitEvent({ type: "send", endpoint: record.endpoint, result: this.decode(undefined, ResponseCode.Changed, contentFormat, payload) });
      return;
    }
    exchange.respond({ code: ResponseCode.NotFound });
  }

  private registered(record: ClientRecord, replaced: ClientRecord | undefined): void {
    // A new registration of the endpoint (a reboot, a new session): its observations are gone on the device.
    if (replaced) this.dm.observations.dropClient(record.endpoint);
    const object19 = hasObject19(record.links);
    const skipped: string[] = [];
    for (const target of this.autoObserve) {
      if (!object19 && parsePathString(target)?.objectId === 19) {
        skipped.push(target);
        continue;
      }
      this.observe(record.endpoint, target).catch((error: Error) => this.platform.log.warn(`auto-observe ${target} on ${record.endpoint}: ${error.message}`));
    }
    const warning = object19 ? undefined : `client ${record.endpoint} has no object 19 (its registration lists no </19/…>): ${skipped.length ? `auto-observe of ${skipped.join(", ")} and ` : ""}commands (/19/1/0) are unavailable`;
    if (warning) this.platform.log.warn(warning);
    this.emitEvent({
      type: "registered",
      endpoint: record.endpoint,
      location: `/${record.location.join("/")}`,
      lifetime: record.lifetime,
      binding: record.binding,
      version: record.version,
      objects: record.links.map((l) => l.target),
      ...(record.pskIdentity !== undefined ? { pskIdentity: record.pskIdentity } : {}),
      object19,
      ...(warning ? { warning } : {}),
    });
    this.delivery.deliverWaiting(record);
  }

  // ------------------------------------------------------------ device management (device-management.ts)

  /** Decodes a payload for display with the object models; `path` undefined is the root (Send). */
  decode(path: Parameters<DeviceManagement["decode"]>[0], code: number, format: number | undefined, payload: Uint8Array): DmResult {
    return this.dm.decode(path, code, format, payload);
  }

  /** Read; `accept` a number or a name, by default the client's format (content-formats.ts). */
  read(endpoint: string, pathText: string, accept?: FormatInput): Promise<DmResult> {
    return this.dm.read(endpoint, pathText, accept);
  }

  discover(endpoint: string, pathText: string): Promise<DmResult> {
    return this.dm.discover(endpoint, pathText);
  }

  /** Writes a value typed by the object model, or a raw payload with its format. */
  write(endpoint: string, pathText: string, value: unknown, options: { format?: FormatInput; partial?: boolean; payload?: Uint8Array } = {}): Promise<DmResult> {
    return this.dm.write(endpoint, pathText, value, options);
  }

  execute(endpoint: string, pathText: string, args = ""): Promise<DmResult> {
    return this.dm.execute(endpoint, pathText, args);
  }

  /** Create: `create(ep, "/10299", {values: {"0": "x"}})`, or a raw payload: `create(ep, "/19", format, payload)`. */
  create(endpoint: string, pathText: string, content: CreateContent | FormatInput, payload?: Uint8Array): Promise<DmResult> {
    const given = content !== null && typeof content === "object" ? content : { format: content, payload: payload ?? new Uint8Array(0) };
    return this.dm.create(endpoint, pathText, given);
  }

  delete(endpoint: string, pathText: string): Promise<DmResult> {
    return this.dm.delete(endpoint, pathText);
  }

  /** Write-Attributes from `{pmin: 5, gt: null, …}`, checked before anything is sent. */
  writeAttributes(endpoint: string, pathText: string, attributes: Readonly<Record<string, unknown>>): Promise<DmResult> {
    return this.dm.writeAttributes(endpoint, pathText, attributes);
  }

  /** Observes a path; notifications appear as "notification" events. Resolves with the first response. */
  observe(endpoint: string, pathText: string, accept?: FormatInput): Promise<DmResult> {
    return this.dm.observe(endpoint, pathText, accept);
  }

  /** Ends an observation: proactively (GET with Observe=1), or by forgetting it (a rebooted device has). */
  cancelObservation(endpoint: string, pathText: string, proactive = true): boolean {
    return this.dm.cancelObservation(endpoint, pathText, proactive);
  }

  listObservations(): { endpoint: string; path: string; accept?: number }[] {
    return this.dm.observations.list();
  }

  // ------------------------------------------------------------ downlink commands (command-delivery.ts)

  /**
   * Queues a command for /19/1/0. `immediate` sends it now and fails it if
   * the device is not registered; otherwise it waits (status "waiting") until
   * the device registers or updates, or until it expires. Throws
   * CommandRefused for a registered client without object 19.
   */
  sendCommand(endpoint: string, data: Uint8Array, options: { expiresInMs?: number; immediate?: boolean } = {}): Command {
    return this.delivery.send(endpoint, data, options);
  }

  /** Cancels a waiting command; false when there is no such command or it is no longer waiting. */
  cancelCommand(id: number): boolean {
    return this.delivery.cancel(id);
  }
}
