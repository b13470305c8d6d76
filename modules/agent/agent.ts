import type { Platform } from "../../hal/platform.js";
import type { TimerHandle } from "../../hal/time.js";
import { ResponseCode } from "../coap/constants.js";
import { utf8Decode } from "../coap/message.js";
import type { NotifyOutcome } from "../coap/observers.js";
import type { CoapParameters } from "../coap/params.js";
import { UdpTransport, type CoapTransport } from "../coap/transport.js";
import { createStandardStore, LwM2mClient, type ReportOutcome } from "../lwm2m/client.js";
import { DOWNLINK_INSTANCE, UPLINK_INSTANCE } from "../lwm2m/objects/binary-app-data-container.js";
import type { DeviceErrors } from "../lwm2m/objects/device-errors.js";
import { FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import { FirmwareUpdateStateMachine, type FirmwareUpdateHandlers } from "../lwm2m/objects/firmware-update-state.js";
import { AppDataResource, FirmwareUpdateResource, ObjectId, SecurityResource } from "../lwm2m/objects/index.js";
import { parsePathString, pathContains, type LwM2mPath } from "../lwm2m/path.js";
import type { LifecycleEvent } from "../lwm2m/registration.js";
import { AgentCode, AgentEvent, MAX_REPORT_DATA_LEN, ReportType, SendStatus } from "./constants.js";
import { installDeviceHooks, type DeviceHooks } from "./device-hooks.js";
import { AgentError, checkDtlsAvailable, pskOf, validateDeviceInfo, validateParams, type AgentParams, type DeviceInfo, type ServerParams } from "./params.js";
import { ReportQueue, type DataReport, type QueuedReport } from "./report-queue.js";

export type AgentEventListener = (event: AgentEvent, arg?: number) => void;

export interface AgentOptions {
  /** Lifecycle events of the LwM2M engine with their reasons (registered, updated, error…). */
  readonly onLifecycle?: (event: LifecycleEvent) => void;
  readonly coap?: Partial<CoapParameters>;
  /** Another transport than UDP on the platform's net (the AT-modem link). */
  readonly transport?: CoapTransport;
  /** Queue mode (binding UQ): how long without traffic before the client stops listening (default 93 s). */
  readonly queueIdleMs?: number;
  /**
   * DTLS handshake retransmission timers for coaps:// servers (RFC 6347):
   * the first interval, doubled on each retransmission up to the largest,
   * after which the handshake is given up. Default 1 s and 60 s. NB-IoT links
   * with seconds of latency want more: Agent Tiny used 4 s and 240 s.
   */
  readonly dtls?: { readonly handshakeMinMs?: number; readonly handshakeMaxMs?: number };
  /**
   * Firmware update behind object 5 (modules/fota's FirmwareUpdater supplies
   * them). Called once at bind with the LwM2M client (for downloaders on its
   * endpoint). Without it every Package URI gets Update Result 9.
   */
  readonly firmwareUpdate?: (lwm2m: () => LwM2mClient | undefined) => FirmwareUpdateHandlers;
}

/** Where each ReportType goes, indexed by the type: /5/0/3 (Firmware Update State) and /19/0/0 (uplink data). */
const REPORT_PATHS: readonly LwM2mPath[] = Object.freeze([
  Object.freeze({ objectId: ObjectId.FirmwareUpdate, instanceId: 0, resourceId: FirmwareUpdateResource.State }),
  Object.freeze({ objectId: ObjectId.BinaryAppDataContainer, instanceId: UPLINK_INSTANCE, resourceId: AppDataResource.Data }),
]);

const STATUS_FOR_OUTCOME: Readonly<Record<Exclude<NotifyOutcome, "cancelled">, SendStatus>> = Object.freeze({
  acknowledged: SendStatus.SentSuccess,
  sent: SendStatus.SentSuccess,
  reset: SendStatus.SentGetRst,
  timeout: SendStatus.SentTimeOut,
  failed: SendStatus.SentFail,
});

/**
 * The Agent Tiny open API on the LwM2M engine: init (validated parameters),
 * bind (device information and hooks; non-blocking), dataReport (queued,
 * paced, each report ending in exactly one final status), dataChange,
 * reconnect, and deinit (deregisters, ends every pending report, releases
 * the endpoint).
 */
export class AgentTiny {
  private readonly platform: Platform;
  private readonly server: Required<ServerParams>;
  private readonly params: AgentParams;
  private readonly options: AgentOptions;
  private readonly queues = new Map<number, ReportQueue>();
  private client: LwM2mClient | undefined;
  private listener: AgentEventListener = () => undefined;
  private errors: DeviceErrors | undefined;
  private firmware: FirmwareUpdateStateMachine | undefined;
  private firmwareHandlers: FirmwareUpdateHandlers | undefined;
  /** The newest report of each type, shown by a plain Read. */
  private readonly latest: Uint8Array[] = [];
  private readonly pumpTimers: (TimerHandle | undefined)[] = [];
  private hooks: DeviceHooks | undefined;
  private ended = false;

  private constructor(platform: Platform, params: AgentParams, server: Required<ServerParams>, options: AgentOptions) {
    this.platform = platform;
    this.params = params;
    this.server = server;
    this.options = options;
    for (const type of [ReportType.AppData, ReportType.FirmwareUpdateState]) this.queues.set(type, new ReportQueue(server.storingCount));
  }

  /** atiny_init: checks every parameter; throws AgentError(ARG_INVALID) naming the first bad one. */
  static init(params: AgentParams, platform: Platform, options: AgentOptions = {}): AgentTiny {
    const server = validateParams(params);
    checkDtlsAvailable(params, platform?.dtls !== undefined);
    return new AgentTiny(platform, params, server, options);
  }

  /** The LwM2M client, once bound. */
  get lwm2m(): LwM2mClient | undefined {
    return this.client;
  }

  get deviceErrors(): DeviceErrors | undefined {
    return this.errors;
  }

  /** atiny_bind: builds the objects and starts registering; returns at once (everything after is event-driven). */
  bind(info: DeviceInfo, hooks: DeviceHooks, onEvent?: AgentEventListener): void {
    if (this.client) throw new AgentError(AgentCode.Err, "bind() was already called");
    if (this.ended) throw new AgentError(AgentCode.Err, "the agent was deinitialised");
    validateDeviceInfo(info);
    this.hooks = hooks;
    if (onEvent) this.listener = onEvent;
    const store = createStandardStore();
    this.errors = installDeviceHooks(store, info, hooks);
    const binaryData = store.get(ObjectId.BinaryAppDataContainer)!;
    // The instances the agent reports and takes commands on are its own: a DM server may not delete them.
    binaryData.hooks = { deleting: (instance) => (instance.id === UPLINK_INSTANCE || instance.id === DOWNLINK_INSTANCE ? ResponseCode.MethodNotAllowed : undefined) };
    store.get(ObjectId.FirmwareUpdate)!.hooks = { deleting: () => ResponseCode.MethodNotAllowed };
    // The agent's instances are owned: a bootstrap that deletes them (Delete "/") gets them back, bound again.
    for (const instanceId of [UPLINK_INSTANCE, DOWNLINK_INSTANCE]) store.own(ObjectId.BinaryAppDataContainer, instanceId, (instance) => {
      if (instanceId === UPLINK_INSTANCE) instance.set(AppDataResource.Data, appData(this.latest[ReportType.AppData] ?? new Uint8Array(0)), false);
      instance.bind(AppDataResource.Data, {
        write: (value) => {
          // Every data item the server wrote, in resource-instance order, with the /19 instance it arrived on.
          const items = value instanceof Map ? Array.from(value.keys()).sort((a, b) => a - b).map((key) => value.get(key)) : [value];
          if (!items.every((item) => item instanceof Uint8Array)) return ResponseCode.BadRequest;
          for (const item of items) {
            const refused = hooks.writeAppData?.(item as Uint8Array, instanceId);
            if (typeof refused === "number") return refused;
          }
        },
      });
    });
    const makeHandlers = this.options.firmwareUpdate;
    this.firmwareHandlers = makeHandlers
      ? makeHandlers(() => this.client)
      : // No download in this build: every Package URI is refused with Update Result 9 (unsupported protocol).
        { protocols: [], startDownload: (_uri, done) => done(FirmwareUpdateResult.UnsupportedProtocol), update: (done) => done(FirmwareUpdateResult.UpdateFailed) };
    const handlers = this.firmwareHandlers;
    store.own(ObjectId.FirmwareUpdate, 0, (instance) => {
      const state = this.firmware?.state ?? (makeHandlers ? undefined : hooks.getFirmwareState?.());
      // Every state change of the object is Agent Tiny's FOTA_STATE event.
      this.firmware = new FirmwareUpdateStateMachine(instance, {
        ...handlers,
        onChange: (changed, result) => {
          handlers.onChange?.(changed, result);
          this.listener(AgentEvent.FotaState, changed);
        },
      });
      if (state !== undefined) this.firmware.reportState(state);
    });
    const { iotServer, bootstrapServer } = this.params;
    const platform = this.platform;
    this.client = new LwM2mClient({
      endpointName: info.endpointName,
      transport: this.options.transport ?? new UdpTransport(platform.net),
      time: platform.time,
      random: platform.random,
      log: platform.log.child("lwm2m"),
      resolve: (host, callback) => platform.net.resolve(host, callback),
      settings: platform.settings,
      memory: platform.memory,
      store,
      coap: this.options.coap,
      ...(this.options.queueIdleMs !== undefined ? { queueIdleMs: this.options.queueIdleMs } : {}),
      ...(platform.dtls ? { dtls: { engine: platform.dtls, ...this.options.dtls } } : {}),
      ...(this.server.bootstrapMode !== "client-initiated" && iotServer ? { servers: [{ uri: iotServer.uri, psk: pskOf(iotServer), lifetime: this.server.lifetime, binding: this.server.binding }] } : {}),
      ...(this.server.bootstrapMode !== "factory" && bootstrapServer
        ? { bootstrap: { uri: bootstrapServer.uri, psk: pskOf(bootstrapServer), mode: this.server.bootstrapMode, holdOffSeconds: this.server.holdOffTime } }
        : {}),
      onEvent: (event) => this.lifecycle(event),
      onSubscribed: (path, subscribed) => {
        const type = REPORT_PATHS.findIndex((reportPath) => pathContains(path, reportPath));
        if (type < 0) return;
        if (type === ReportType.AppData) this.listener(subscribed ? AgentEvent.DataSubscribe : AgentEvent.DataUnsubscribe, ReportType.AppData);
        if (subscribed) this.schedulePump(type as ReportType);
      },
    });
    this.client.start();
  }

  /**
   * atiny_data_report: queues `buf` (1..1024 bytes) for the observers of
   * /19/0/0 (APP_DATA) or /5/0/3 (FIRMWARE_UPDATE_STATE, buf[0] = state).
   * Returns ARG_INVALID, CLIENT_UNREGISTERED before bind, or
   * RESOURCE_NOT_ENOUGH when storingCount reports are already waiting.
   */
  dataReport(report: DataReport): AgentCode {
    if (!report || !(report.buf instanceof Uint8Array) || report.buf.length === 0 || report.buf.length > MAX_REPORT_DATA_LEN) return AgentCode.ArgInvalid;
    if (report.type !== ReportType.AppData && report.type !== ReportType.FirmwareUpdateState) return AgentCode.ArgInvalid;
    if (!Number.isInteger(report.cookie)) return AgentCode.ArgInvalid;
    if (report.type === ReportType.FirmwareUpdateState && (report.buf.length !== 1 || !FirmwareUpdateStateMachine.isState(report.buf[0]))) return AgentCode.ArgInvalid;
    if (!this.client || this.ended) return AgentCode.ClientUnregistered;
    const queue = this.queues.get(report.type)!;
    const queued = queue.push(report);
    if (!queued) return AgentCode.ResourceNotEnough;
    // A plain Read shows the latest report, sent or not.
    this.latest[report.type] = queued.report.buf;
    this.show(report.type, queued.report.buf);
    this.schedulePump(report.type);
    return AgentCode.Ok;
  }

  /** atiny_data_change: tells observers of `uri` (e.g. "/3/0/9") that its value changed. */
  dataChange(uri: string): AgentCode {
    const path = parsePathString(uri);
    if (!path) return AgentCode.ArgInvalid;
    const client = this.client;
    const state = client?.registrationState();
    if (!client || (state !== "registered" && state !== "updating")) return AgentCode.ClientUnregistered;
    const object = client.store.get(path.objectId);
    const instance = path.instanceId === undefined ? undefined : object?.instance(path.instanceId);
    if (!instance) return AgentCode.ResourceNotFound;
    instance.notifyChanged(path.resourceId);
    return AgentCode.Ok;
  }

  /**
   * atiny_reconnect: an Update with every registered server, a Register now
   * with the others (even after a halting error or during a back-off).
   * `register: true` registers again everywhere, as Agent Tiny's reconnect
   * always did: for a network that came back on another address.
   */
  reconnect(options: { register?: boolean } = {}): void {
    if (!this.ended) this.client?.reconnect(options);
  }

  /** atiny_deinit: ends every pending report (NOT_SENT, or SENT_FAIL when on the wire), deregisters and releases the endpoint. */
  deinit(done: () => void = () => undefined): void {
    if (this.ended) return done();
    this.ended = true;
    for (const timer of this.pumpTimers) this.platform.time.clearTimer(timer);
    this.pumpTimers.length = 0;
    for (const queue of this.queues.values()) queue.drain(SendStatus.NotSent, SendStatus.SentFail);
    this.firmwareHandlers?.close?.();
    if (!this.client) return done();
    this.client.stop(done);
  }

  private lifecycle(event: LifecycleEvent): void {
    this.options.onLifecycle?.(event);
    if (event.type === "bootstrapped") this.announceCredentials();
    if (event.type === "registered") {
      this.listener(AgentEvent.RegOk);
      this.pumpAll();
      this.firmware?.resumeInterrupted();
    } else if (event.type === "updated") this.pumpAll();
    else if (event.type === "error") this.listener(AgentEvent.RegFail);
  }

  /** ATINY_UPDATE_PSK: after a bootstrap, hand the server accounts' PSK identity and key to the device (Agent Tiny never did). */
  private announceCredentials(): void {
    const security = this.client?.store.get(ObjectId.Security);
    if (!security || !this.hooks?.updatePsk) return;
    for (const id of security.instanceIds()) {
      const account = security.instance(id)!;
      const identity = account.get(SecurityResource.PublicKeyOrIdentity);
      const key = account.get(SecurityResource.SecretKey);
      if (account.get(SecurityResource.BootstrapServer) === true || !(identity instanceof Uint8Array) || !(key instanceof Uint8Array) || identity.length === 0 || key.length === 0) continue;
      this.hooks.updatePsk(utf8Decode(identity), key.slice());
    }
  }

  private pumpAll(): void {
    for (const type of this.queues.keys()) this.schedulePump(type as ReportType);
  }

  private schedulePump(type: ReportType): void {
    if (this.pumpTimers[type] !== undefined || this.ended) return;
    this.pumpTimers[type] = this.platform.time.setTimer(0, () => {
      this.pumpTimers[type] = undefined;
      this.pump(type);
    });
  }

  /** Stores `buf` as the value a Read of the report's path shows, without notifying anyone. */
  private show(type: ReportType, buf: Uint8Array): void {
    if (type === ReportType.AppData) this.client?.store.get(ObjectId.BinaryAppDataContainer)?.instance(UPLINK_INSTANCE)?.set(AppDataResource.Data, appData(buf), false);
    else this.firmware?.reportState(buf[0]!);
  }

  /**
   * Hands the next report of `type` to the engine, one at a time: it goes to
   * every observer as one notification. While nobody observes (or before
   * registration) the waiting reports are SEND_PENDING; a subscription, a
   * registration or an Update brings them out.
   */
  private pump(type: ReportType): void {
    const client = this.client;
    const queue = this.queues.get(type)!;
    if (!client || this.ended) return;
    const queued = queue.peek();
    if (!queued) return;
    const buf = queued.report.buf;
    this.show(type, buf);
    const started = client.report(REPORT_PATHS[type]!, undefined, (outcomes) => this.settle(type, queue, queued, outcomes));
    this.show(type, this.latest[type]!);
    if (started === 0) {
      for (const waiting of queue.pending()) queue.tell(waiting, SendStatus.SendPending);
      return;
    }
    queue.next();
    if (type === ReportType.FirmwareUpdateState) this.listener(AgentEvent.FotaState, buf[0]);
    queue.tell(queued, SendStatus.SentWaitResponse);
  }

  /** The worst outcome over the report's notifications; one whose notifications never left waits again. */
  private settle(type: ReportType, queue: ReportQueue, queued: QueuedReport, outcomes: readonly ReportOutcome[]): void {
    let worst: SendStatus | undefined;
    for (const { outcome } of outcomes) {
      if (outcome === "cancelled") continue;
      const status = STATUS_FOR_OUTCOME[outcome];
      if (worst === undefined || worst === SendStatus.SentSuccess) worst = status;
    }
    if (worst === undefined) {
      queue.requeue(queued);
      queue.tell(queued, SendStatus.SendPending);
    } else queue.tell(queued, worst);
    this.schedulePump(type);
  }
}

function appData(buf: Uint8Array): Map<number, Uint8Array> {
  return new Map([[0, buf]]);
}
