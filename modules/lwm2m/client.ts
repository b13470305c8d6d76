import type { HalError } from "../../hal/errors.js";
import type { Logger } from "../../hal/log.js";
import type { MemoryBudget } from "../../hal/memory.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { codeString, ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import { CoapEndpoint } from "../coap/endpoint.js";
import { peerKey, type Peer } from "../coap/message.js";
import type { NotifyOutcome, Observer } from "../coap/observers.js";
import type { CoapParameters } from "../coap/params.js";
import type { CoapTransport } from "../coap/transport.js";
import type { SettingsStore } from "../../hal/storage.js";
import { loadBootstrapConfig, saveBootstrapConfig } from "./bootstrap-store.js";
import { dispatchBootstrap } from "./bootstrap-dispatcher.js";
import { bootstrapAccountId } from "./operations/bootstrap.js";
import { encodeSenmlCbor } from "./content/senml.js";
import type { ResourceEntry } from "./model/values.js";
import { collect } from "./operations/read.js";
import { QueueModeGate } from "./queue-mode-gate.js";
import { AttributeStore } from "./attributes.js";
import type { Link } from "./content/link-format.js";
import { dispatch } from "./dispatcher.js";
import { ObjectStore, type ObjectInstance } from "./model/object-store.js";
import { Observations } from "./observations.js";
import { STANDARD_OBJECTS } from "./objects/index.js";
import type { DmContext } from "./operations/context.js";
import { formatPath, type LwM2mPath } from "./path.js";
import { Registration, RETRY_BASE_MS, RETRY_CAP_MS, type LifecycleEvent } from "./registration.js";
import { parseServerUri, type ServerUri } from "./server-uri.js";

export interface ServerConfig {
  /** coap://host[:port] */
  readonly uri: string;
  readonly shortServerId?: number;
  /** Registration lifetime in seconds (default 86400). */
  readonly lifetime?: number;
  /** "U" (default) or "UQ" (queue mode). */
  readonly binding?: string;
  readonly defaultMinPeriod?: number;
  readonly defaultMaxPeriod?: number;
}

/** Agent Tiny's bootstrap modes: factory (no bootstrap), client-initiated, and sequence (factory first, bootstrap on failure). */
export type BootstrapMode = "factory" | "client-initiated" | "sequence";

export interface BootstrapConfig {
  /** coap://host[:port] of the bootstrap server. */
  readonly uri: string;
  readonly mode: Exclude<BootstrapMode, "factory">;
  /** Seconds to wait for a server-initiated bootstrap before requesting one (Client Hold Off Time, /0/x/11; default 0). */
  readonly holdOffSeconds?: number;
  /** How long to wait for Bootstrap-Finish after the request (default 60 s). */
  readonly finishTimeoutMs?: number;
}

export interface LwM2mClientOptions {
  readonly endpointName: string;
  readonly transport: CoapTransport;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  /** Host-name resolution (the HAL net's resolve); numeric addresses need none. */
  readonly resolve?: (host: string, callback: (error: HalError | undefined, address?: string) => void) => void;
  /** Factory-provisioned LwM2M servers. */
  readonly servers?: readonly ServerConfig[];
  readonly bootstrap?: BootstrapConfig;
  /** Where a bootstrapped configuration is kept across restarts. */
  readonly settings?: SettingsStore;
  /** LwM2M version announced (default 1.1; 1.0 servers get TLV for multi-resource reads). */
  readonly version?: "1.0" | "1.1";
  /** Sequence mode: consecutive failed registrations before falling back to bootstrap (default 3). */
  readonly bootstrapAfterFailures?: number;
  /** Objects to serve; by default every standard object, without instances beyond /0 and /1. */
  readonly store?: ObjectStore;
  readonly coap?: Partial<CoapParameters>;
  /** Memory budget for CON messages awaiting their ACK (the platform's `memory`). */
  readonly memory?: MemoryBudget;
  /** Notifications of this path go as CON (default: every notification is CON). */
  readonly confirmableNotifications?: (path: LwM2mPath) => boolean;
  readonly onEvent?: (event: LifecycleEvent) => void;
  readonly onNotified?: (path: LwM2mPath, outcome: NotifyOutcome, observer: Observer) => void;
  readonly onSubscribed?: (path: LwM2mPath, subscribed: boolean) => void;
  /** Queue mode (binding UQ): stop listening after this long without traffic (default 93 s, MAX_TRANSMIT_WAIT). */
  readonly queueIdleMs?: number;
}

export const DEFAULT_QUEUE_IDLE_MS = 93000;
export const DEFAULT_BOOTSTRAP_FINISH_TIMEOUT_MS = 60000;

interface ServerSession {
  readonly shortServerId: number;
  readonly uri: ServerUri;
  readonly version: "1.0" | "1.1";
  peer: Peer | undefined;
  readonly attributes: AttributeStore;
  readonly context: DmContext;
  readonly observations: Observations;
  readonly registration: Registration;
  readonly serverInstance: ObjectInstance;
  /** Queue mode: whether the client listens to this server now. */
  awake: boolean;
  idleTimer: TimerHandle | undefined;
  failures: number;
}

interface BootstrapState {
  readonly uri: ServerUri;
  readonly text: string;
  peer: Peer | undefined;
  readonly context: DmContext;
  requested: boolean;
  timer: TimerHandle | undefined;
  attempt: number;
}

export const DEFAULT_LIFETIME = 86400;

/** Creates an object store holding every standard object definition. */
export function createStandardStore(): ObjectStore {
  const store = new ObjectStore();
  for (const definition of STANDARD_OBJECTS) store.add(definition);
  return store;
}

/**
 * The LwM2M client: one CoAP endpoint, the object store, and for each server
 * account (factory-provisioned or bootstrapped) its registration,
 * notification attributes and observations; plus the bootstrap procedure.
 */
export class LwM2mClient {
  readonly store: ObjectStore;
  readonly endpoint: CoapEndpoint;
  private readonly options: LwM2mClientOptions;
  private sessions: ServerSession[] = [];
  private bootstrap: BootstrapState | undefined;
  private structureTimer: TimerHandle | undefined;
  private started = false;

  constructor(options: LwM2mClientOptions) {
    if (!/^[!-~]{1,64}$/.test(options.endpointName) || /[&=?#/]/.test(options.endpointName)) {
      throw new RangeError(`endpoint name "${options.endpointName}" must be 1..64 printable characters without & = ? # /`);
    }
    if ((options.servers?.length ?? 0) === 0 && !options.bootstrap) throw new RangeError("configure at least one server or a bootstrap server");
    if (options.bootstrap?.mode === "sequence" && (options.servers?.length ?? 0) === 0) throw new RangeError("bootstrap mode sequence needs a factory server to try first");
    this.options = options;
    this.store = options.store ?? createStandardStore();
    this.endpoint = new CoapEndpoint({
      transport: new QueueModeGate(
        options.transport,
        (peer) => this.isAsleep(peer),
        (peer) => {
          const session = this.sessionOf(peer);
          if (session) this.keepAwake(session);
        },
      ),
      time: options.time,
      random: options.random,
      log: options.log?.child("coap"),
      parameters: options.coap,
      ...(options.memory ? { memory: options.memory } : {}),
    });
    const restored = options.settings && options.bootstrap ? loadBootstrapConfig(this.store, options.settings) : false;
    if (restored) options.log?.info("using the configuration of the last bootstrap");
    else (options.servers ?? []).forEach((server, index) => this.provisionServer(server, index));
    if (options.bootstrap) this.bootstrap = this.createBootstrap(options.bootstrap, restored);
    this.sessions = this.buildSessions();
    this.endpoint.setHandler((exchange) => {
      const peer = exchange.request.peer;
      if (this.bootstrap?.peer && peerKey(this.bootstrap.peer) === peerKey(peer)) {
        dispatchBootstrap(exchange, this.bootstrap.context, this.options.version ?? "1.1", () => this.bootstrapFinished());
        return;
      }
      const session = this.sessionOf(peer);
      if (!session) {
        exchange.respond({ code: ResponseCode.Unauthorized });
        return;
      }
      this.keepAwake(session);
      dispatch(exchange, session.context, session.observations);
    });
    this.store.onValueChanged((path) => {
      for (const session of this.sessions) session.observations.valueChanged(path);
    });
    this.store.onStructureChanged(() => this.structureChanged());
  }

  /** Registers with each server account, or bootstraps first when there is none (or the mode says so). */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.bootstrap) this.resolvePeer(this.bootstrap.uri, (peer) => (this.bootstrap!.peer = peer));
    if (this.sessions.length === 0 && this.bootstrap) {
      this.beginBootstrap();
      return;
    }
    for (const session of this.sessions) this.connect(session);
  }

  /** Deregisters from every server, ends observations, and releases the endpoint. */
  stop(done: () => void = () => undefined): void {
    this.clearBootstrapTimer();
    if (!this.started) {
      this.endpoint.close();
      done();
      return;
    }
    this.started = false;
    let pending = this.sessions.length + 1;
    const finished = () => {
      if (--pending > 0) return;
      for (const session of this.sessions) session.observations.stopAll();
      this.endpoint.close();
      done();
    };
    for (const session of this.sessions) session.registration.stop(true, finished);
    finished();
  }

  registrationState(shortServerId?: number): string {
    if (this.bootstrap?.requested) return "bootstrapping";
    const session = shortServerId === undefined ? this.sessions[0] : this.sessions.find((s) => s.shortServerId === shortServerId);
    return session?.registration.state ?? "unknown";
  }

  /** Observers of `path` across servers. */
  observersOf(path: LwM2mPath): Observer[] {
    return this.sessions.flatMap((session) => session.observations.observersOf(path));
  }

  /** Sends a notification of `path` to its observers now, without waiting for pmin. */
  notifyNow(path: LwM2mPath): number {
    return this.sessions.reduce((sum, session) => sum + session.observations.notifyNow(path), 0);
  }

  /** Triggers a Registration Update with every server. */
  updateRegistration(): void {
    for (const session of this.sessions) session.registration.update();
  }

  /**
   * Sends the values at `paths` to the server unsolicited (LwM2M 1.1 Send,
   * POST /dp in SenML CBOR). Refused while the server muted Send (/1/x/23).
   */
  send(paths: readonly LwM2mPath[], done: (error: Error | undefined) => void, shortServerId?: number): void {
    const session = shortServerId === undefined ? this.sessions[0] : this.sessions.find((s) => s.shortServerId === shortServerId);
    const fail = (message: string) => void this.options.time.setTimer(0, () => done(new Error(message)));
    if (!session || !session.peer) return fail("no such server");
    if (session.registration.state !== "registered" && session.registration.state !== "updating") return fail("not registered");
    if (session.version !== "1.1") return fail("Send needs an LwM2M 1.1 server");
    if (session.serverInstance.get(23) === true) return fail("the server muted Send (/1/x/23)");
    const entries: ResourceEntry[] = [];
    for (const path of paths) {
      const collected = collect(session.context, path);
      if ("error" in collected) return fail(`cannot read ${formatPath(path)}`);
      entries.push(...collected.entries);
    }
    if (entries.length === 0) return fail("nothing to send");
    this.keepAwake(session);
    this.endpoint.request(
      { peer: session.peer, method: Method.POST, path: "/dp", contentFormat: ContentFormat.SenmlCbor, payload: encodeSenmlCbor({ objectId: entries[0]!.path.objectId }, entries) },
      (error, response) => {
        if (error) return done(error);
        done(response!.code === ResponseCode.Changed ? undefined : new Error(`Send answered ${codeString(response!.code)}`));
      },
    );
  }

  // ---------------------------------------------------------------- server accounts

  /** Security (/0) and Server (/1) instances for a factory-configured server. */
  private provisionServer(server: ServerConfig, index: number): void {
    const uri = parseServerUri(server.uri);
    if (!uri) throw new RangeError(`server URI "${server.uri}" is not coap://host[:port] or coaps://host[:port]`);
    if (uri.secure) throw new RangeError(`coaps:// needs the DTLS transport, which is not available yet: ${server.uri}`);
    const shortServerId = server.shortServerId ?? index + 1;
    const lifetime = server.lifetime ?? DEFAULT_LIFETIME;
    const binding = server.binding ?? "U";
    if (!(shortServerId >= 1 && shortServerId <= 65534)) throw new RangeError(`short server id ${shortServerId} must be 1..65534`);
    if (!(Number.isInteger(lifetime) && lifetime > 0)) throw new RangeError(`lifetime ${lifetime} must be a positive number of seconds`);
    if (binding !== "U" && binding !== "UQ") throw new RangeError(`binding "${binding}" must be U or UQ`);
    const security = this.store.get(0)!.createInstance();
    security.set(0, server.uri);
    security.set(1, false);
    security.set(2, 3); // NoSec
    security.set(3, new Uint8Array(0));
    security.set(4, new Uint8Array(0));
    security.set(5, new Uint8Array(0));
    security.set(10, shortServerId);
    const serverInstance = this.store.get(1)!.createInstance();
    serverInstance.set(0, shortServerId);
    serverInstance.set(1, lifetime);
    if (server.defaultMinPeriod) serverInstance.set(2, server.defaultMinPeriod);
    if (server.defaultMaxPeriod) serverInstance.set(3, server.defaultMaxPeriod);
    serverInstance.set(6, true);
    serverInstance.set(7, binding);
  }

  /** One session per Security instance (not the bootstrap one) with a matching Server instance. */
  private buildSessions(): ServerSession[] {
    const security = this.store.get(0)!;
    const servers = this.store.get(1)!;
    const sessions: ServerSession[] = [];
    for (const id of security.instanceIds()) {
      const account = security.instance(id)!;
      if (account.get(1) === true) continue;
      const ssid = account.get(10);
      const serverId = servers.instanceIds().find((candidate) => servers.instance(candidate)!.get(0) === ssid);
      const uri = parseServerUri(String(account.get(0)));
      if (typeof ssid !== "number" || serverId === undefined || !uri || uri.secure) {
        this.options.log?.warn(`server account /0/${id} is incomplete or needs DTLS; skipped`);
        continue;
      }
      sessions.push(this.createSession(ssid, uri, servers.instance(serverId)!));
    }
    return sessions;
  }

  private createSession(shortServerId: number, uri: ServerUri, serverInstance: ObjectInstance): ServerSession {
    const version = this.options.version ?? "1.1";
    const attributes = new AttributeStore();
    const time = this.options.time;
    const context: DmContext = {
      store: this.store,
      shortServerId,
      serverVersion: version,
      bootstrap: false,
      attributes,
      log: this.options.log,
      defer: (action) => void time.setTimer(0, action),
      accessControl: () => this.sessions.length > 1,
    };
    const observations = new Observations(time, {
      defaults: () => ({ pmin: numberOr(serverInstance.get(2), 0), pmax: numberOr(serverInstance.get(3), 0) }),
      confirmable: this.options.confirmableNotifications ?? (() => true),
      onNotified: this.options.onNotified,
      onSubscribed: this.options.onSubscribed,
      canSend: () => session.registration.parameters.binding !== "UQ" || session.awake,
      onHeld: () => {
        // Wake up: an Update tells the server we listen again, then the held notifications go out.
        if (session.registration.state === "registered") {
          this.options.log?.info(`queue mode: waking up for held notifications`);
          session.registration.update();
        }
      },
    });
    const session: ServerSession = {
      shortServerId,
      uri,
      version,
      peer: undefined,
      attributes,
      context,
      observations,
      serverInstance,
      awake: false,
      idleTimer: undefined,
      failures: 0,
      registration: new Registration({
        endpoint: this.endpoint,
        time,
        random: this.options.random,
        log: this.options.log?.child(`server${shortServerId}`),
        peer: () => session.peer,
        parameters: { endpointName: this.options.endpointName, shortServerId, lifetime: numberOr(serverInstance.get(1), DEFAULT_LIFETIME), binding: String(serverInstance.get(7) ?? "U"), version },
        links: () => this.registrationLinks(),
        onEvent: (event) => this.registrationEvent(session, event),
        onRegistered: () => {
          session.failures = 0;
          session.awake = true;
          this.keepAwake(session);
          session.observations.flushHeld();
        },
      }),
    };
    serverInstance.bind(1, {
      write: (value) => {
        if (typeof value !== "number" || value <= 0) return ResponseCode.BadRequest;
        session.registration.parameters.lifetime = value;
        time.setTimer(0, () => session.registration.update({ lifetime: true }));
      },
    });
    serverInstance.bind(7, {
      write: (value) => {
        if (value !== "U" && value !== "UQ") return ResponseCode.BadRequest;
        session.registration.parameters.binding = value;
        time.setTimer(0, () => session.registration.update({ binding: true }));
      },
    });
    serverInstance.bind(8, { execute: () => void time.setTimer(0, () => session.registration.update()) });
    serverInstance.bind(9, {
      executeAfterResponse: true,
      execute: () => {
        if (this.bootstrap) this.fallBackToBootstrap("the server asked for a bootstrap (/1/x/9)");
      },
    });
    return session;
  }

  private registrationEvent(session: ServerSession, event: LifecycleEvent): void {
    this.options.onEvent?.(event);
    if (event.type !== "error") return;
    session.failures++;
    const limit = this.options.bootstrapAfterFailures ?? 3;
    if (this.bootstrap && this.options.bootstrap?.mode === "sequence" && (!event.temporary || session.failures >= limit)) {
      this.fallBackToBootstrap(`registration with server ${session.shortServerId} failed ${session.failures} times`);
    }
  }

  private sessionOf(peer: Peer): ServerSession | undefined {
    return this.sessions.find((candidate) => candidate.peer && peerKey(candidate.peer) === peerKey(peer));
  }

  private resolvePeer(uri: ServerUri, then: (peer: Peer) => void, onError?: (message: string) => void): void {
    const { host, port } = uri;
    const resolve = this.options.resolve;
    const numeric = /^[0-9.]+$/.test(host) || host.indexOf(":") >= 0;
    if (numeric || !resolve) return then({ address: host, port });
    resolve(host, (error, address) => {
      if (error || !address) onError?.(error?.message ?? `cannot resolve ${host}`);
      else then({ address, port });
    });
  }

  private connect(session: ServerSession): void {
    this.resolvePeer(
      session.uri,
      (peer) => {
        session.peer = peer;
        session.registration.start();
      },
      (message) => {
        this.options.onEvent?.({ type: "error", shortServerId: session.shortServerId, reason: "dns", temporary: true, message, retryInMs: 10000 });
        this.options.time.setTimer(10000, () => this.started && this.connect(session));
      },
    );
  }

  // ---------------------------------------------------------------- bootstrap

  private createBootstrap(config: BootstrapConfig, restored: boolean): BootstrapState {
    const uri = parseServerUri(config.uri);
    if (!uri) throw new RangeError(`bootstrap server URI "${config.uri}" is not coap://host[:port]`);
    if (uri.secure) throw new RangeError(`coaps:// needs the DTLS transport, which is not available yet: ${config.uri}`);
    if (!restored) {
      const account = this.store.get(0)!.createInstance();
      account.set(0, config.uri);
      account.set(1, true);
      account.set(2, 3);
      account.set(3, new Uint8Array(0));
      account.set(4, new Uint8Array(0));
      account.set(5, new Uint8Array(0));
      account.set(11, config.holdOffSeconds ?? 0);
    }
    const time = this.options.time;
    return {
      uri,
      text: config.uri,
      peer: undefined,
      requested: false,
      timer: undefined,
      attempt: 0,
      context: { store: this.store, shortServerId: 0, serverVersion: this.options.version ?? "1.1", bootstrap: true, attributes: new AttributeStore(), log: this.options.log, defer: (action) => void time.setTimer(0, action) },
    };
  }

  private fallBackToBootstrap(reason: string): void {
    if (!this.bootstrap || this.bootstrap.requested || !this.started) return;
    this.options.log?.warn(`falling back to bootstrap: ${reason}`);
    for (const session of this.sessions) session.registration.stop(false);
    this.beginBootstrap();
  }

  /** Waits the hold-off time for a server-initiated bootstrap, then sends the Bootstrap-Request. */
  private beginBootstrap(): void {
    const state = this.bootstrap!;
    state.requested = true;
    this.options.onEvent?.({ type: "bootstrap-started", uri: state.text });
    const account = this.store.get(0)!.instance(bootstrapAccountId(this.store) ?? -1);
    const holdOff = numberOr(account?.get(11), 0) * 1000;
    this.clearBootstrapTimer();
    state.timer = this.options.time.setTimer(holdOff, () => this.requestBootstrap());
  }

  private requestBootstrap(): void {
    const state = this.bootstrap!;
    const peer = state.peer;
    if (!peer) return this.retryBootstrap("the bootstrap server address is not resolved");
    const query = [`ep=${this.options.endpointName}`];
    if ((this.options.version ?? "1.1") === "1.1") query.push(`pct=${ContentFormat.SenmlCbor}`);
    this.options.log?.info(`requesting bootstrap from ${state.text}`);
    this.endpoint.request({ peer, method: Method.POST, path: "/bs", query }, (error, response) => {
      if (!state.requested) return;
      if (error) return this.retryBootstrap(error.message);
      if (response!.code !== ResponseCode.Changed) return this.retryBootstrap(`Bootstrap-Request answered ${codeString(response!.code)}`);
      this.clearBootstrapTimer();
      state.timer = this.options.time.setTimer(this.options.bootstrap?.finishTimeoutMs ?? DEFAULT_BOOTSTRAP_FINISH_TIMEOUT_MS, () => this.retryBootstrap("no Bootstrap-Finish in time"));
    });
  }

  private retryBootstrap(message: string): void {
    const state = this.bootstrap!;
    const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(state.attempt++, 30));
    this.options.log?.warn(`bootstrap failed (${message}); retry in ${(delay / 1000).toFixed(0)} s`);
    this.options.onEvent?.({ type: "error", shortServerId: 0, reason: "unknown", temporary: true, message: `bootstrap: ${message}`, retryInMs: delay });
    this.clearBootstrapTimer();
    state.timer = this.options.time.setTimer(delay, () => this.requestBootstrap());
  }

  private clearBootstrapTimer(): void {
    if (!this.bootstrap) return;
    this.options.time.clearTimer(this.bootstrap.timer);
    this.bootstrap.timer = undefined;
  }

  /** Bootstrap-Finish accepted: keep the configuration, then register with the provisioned servers. */
  private bootstrapFinished(): void {
    const state = this.bootstrap!;
    this.clearBootstrapTimer();
    state.requested = false;
    state.attempt = 0;
    if (this.options.settings) saveBootstrapConfig(this.store, this.options.settings);
    for (const session of this.sessions) session.observations.stopAll();
    this.sessions = this.buildSessions();
    this.options.onEvent?.({ type: "bootstrapped", servers: this.sessions.map((session) => session.shortServerId) });
    if (this.started) for (const session of this.sessions) this.connect(session);
  }

  // ---------------------------------------------------------------- queue mode

  /** Queue mode: (re)starts the idle timer after traffic with the server. */
  private keepAwake(session: ServerSession): void {
    if (session.registration.parameters.binding !== "UQ") return;
    session.awake = true;
    this.options.time.clearTimer(session.idleTimer);
    session.idleTimer = this.options.time.setTimer(this.options.queueIdleMs ?? DEFAULT_QUEUE_IDLE_MS, () => {
      session.idleTimer = undefined;
      session.awake = false;
      this.options.log?.info(`queue mode: not listening to server ${session.shortServerId} until the next Update`);
    });
  }

  private isAsleep(peer: Peer): boolean {
    const session = this.sessionOf(peer);
    return !!session && session.registration.parameters.binding === "UQ" && !session.awake && session.registration.state === "registered";
  }

  /** Link-format object list for Register (OMA-TS-LightweightM2M_Transport §6.2.1): the Security object is never announced. */
  registrationLinks(): Link[] {
    const links: Link[] = [{ target: "/", attributes: [["rt", "oma.lwm2m"], ["ct", 112]] }];
    for (const object of this.store.list()) {
      if (object.id === 0) continue;
      const ids = object.instanceIds();
      const version = object.definition.version;
      if (ids.length === 0 || version !== "1.0") links.push({ target: `/${object.id}`, attributes: version !== "1.0" ? [["ver", version]] : [] });
      for (const id of ids) links.push({ target: `/${object.id}/${id}`, attributes: [] });
    }
    return links;
  }

  private structureChanged(): void {
    if (!this.started || this.structureTimer !== undefined || this.bootstrap?.requested) return;
    this.structureTimer = this.options.time.setTimer(0, () => {
      this.structureTimer = undefined;
      for (const session of this.sessions) session.registration.update({ objects: true });
    });
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}
