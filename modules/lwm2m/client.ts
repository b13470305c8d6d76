import type { HalError } from "../../hal/errors.js";
import type { Logger } from "../../hal/log.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time } from "../../hal/time.js";
import { codeString, ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import { CoapEndpoint } from "../coap/endpoint.js";
import { peerKey, type Peer } from "../coap/message.js";
import type { NotifyOutcome, Observer } from "../coap/observers.js";
import type { CoapParameters } from "../coap/params.js";
import type { CoapTransport } from "../coap/transport.js";
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
import { Registration, type LifecycleEvent } from "./registration.js";
import { parseServerUri, type ServerUri } from "./server-uri.js";

export interface ServerConfig {
  /** coap://host[:port] */
  readonly uri: string;
  readonly shortServerId?: number;
  /** Registration lifetime in seconds (default 86400). */
  readonly lifetime?: number;
  /** "U" (default) or "UQ" (queue mode). */
  readonly binding?: string;
  /** LwM2M version announced (default 1.1). */
  readonly version?: "1.0" | "1.1";
  readonly defaultMinPeriod?: number;
  readonly defaultMaxPeriod?: number;
}

export interface LwM2mClientOptions {
  readonly endpointName: string;
  readonly transport: CoapTransport;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  /** Host-name resolution (the HAL net's resolve); numeric addresses need none. */
  readonly resolve?: (host: string, callback: (error: HalError | undefined, address?: string) => void) => void;
  readonly servers: readonly ServerConfig[];
  /** Objects to serve; by default every standard object, without instances beyond /0 and /1. */
  readonly store?: ObjectStore;
  readonly coap?: Partial<CoapParameters>;
  /** Notifications of this path go as CON (default: every notification is CON). */
  readonly confirmableNotifications?: (path: LwM2mPath) => boolean;
  readonly onEvent?: (event: LifecycleEvent) => void;
  readonly onNotified?: (path: LwM2mPath, outcome: NotifyOutcome, observer: Observer) => void;
  readonly onSubscribed?: (path: LwM2mPath, subscribed: boolean) => void;
  /** Queue mode (binding UQ): stop listening after this long without traffic (default 93 s, MAX_TRANSMIT_WAIT). */
  readonly queueIdleMs?: number;
}

export const DEFAULT_QUEUE_IDLE_MS = 93000;

interface ServerSession {
  readonly config: Required<ServerConfig>;
  readonly uri: ServerUri;
  peer: Peer | undefined;
  readonly attributes: AttributeStore;
  readonly context: DmContext;
  readonly observations: Observations;
  readonly registration: Registration;
  readonly serverInstance: ObjectInstance;
  /** Queue mode: whether the client listens to this server now. */
  awake: boolean;
  idleTimer: unknown;
}

export const DEFAULT_LIFETIME = 86400;

/** Creates an object store holding every standard object definition. */
export function createStandardStore(): ObjectStore {
  const store = new ObjectStore();
  for (const definition of STANDARD_OBJECTS) store.add(definition);
  return store;
}

/**
 * The LwM2M client: one CoAP endpoint, the object store, and for each
 * configured server its registration, notification attributes and
 * observations.
 */
export class LwM2mClient {
  readonly store: ObjectStore;
  readonly endpoint: CoapEndpoint;
  private readonly options: LwM2mClientOptions;
  private readonly sessions: ServerSession[] = [];
  private structureTimer: unknown;
  private started = false;

  constructor(options: LwM2mClientOptions) {
    if (!/^[!-~]{1,64}$/.test(options.endpointName) || /[&=?#/]/.test(options.endpointName)) {
      throw new RangeError(`endpoint name "${options.endpointName}" must be 1..64 printable characters without & = ? # /`);
    }
    if (options.servers.length === 0) throw new RangeError("at least one server is needed");
    this.options = options;
    this.store = options.store ?? createStandardStore();
    this.endpoint = new CoapEndpoint({ transport: new QueueModeGate(
        options.transport,
        (peer) => this.isAsleep(peer),
        (peer) => {
          const session = this.sessionOf(peer);
          if (session) this.keepAwake(session);
        },
      ), time: options.time, random: options.random, log: options.log?.child("coap"), parameters: options.coap });
    options.servers.forEach((server, index) => this.sessions.push(this.createSession(server, index)));
    this.endpoint.setHandler((exchange) => {
      const session = this.sessionOf(exchange.request.peer);
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

  /** Resolves the servers' addresses and registers with each. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const session of this.sessions) this.connect(session);
  }

  /** Deregisters from every server, ends observations, and releases the endpoint. */
  stop(done: () => void = () => undefined): void {
    if (!this.started) {
      this.endpoint.close();
      done();
      return;
    }
    this.started = false;
    let pending = this.sessions.length;
    const finished = () => {
      if (--pending > 0) return;
      for (const session of this.sessions) session.observations.stopAll();
      this.endpoint.close();
      done();
    };
    for (const session of this.sessions) session.registration.stop(true, finished);
  }

  registrationState(shortServerId?: number): string {
    const session = shortServerId === undefined ? this.sessions[0] : this.sessions.find((s) => s.config.shortServerId === shortServerId);
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

  private createSession(server: ServerConfig, index: number): ServerSession {
    const uri = parseServerUri(server.uri);
    if (!uri) throw new RangeError(`server URI "${server.uri}" is not coap://host[:port] or coaps://host[:port]`);
    if (uri.secure) throw new RangeError(`coaps:// needs the DTLS transport, which is not available yet: ${server.uri}`);
    const config: Required<ServerConfig> = {
      uri: server.uri,
      shortServerId: server.shortServerId ?? index + 1,
      lifetime: server.lifetime ?? DEFAULT_LIFETIME,
      binding: server.binding ?? "U",
      version: server.version ?? "1.1",
      defaultMinPeriod: server.defaultMinPeriod ?? 0,
      defaultMaxPeriod: server.defaultMaxPeriod ?? 0,
    };
    if (!(config.shortServerId >= 1 && config.shortServerId <= 65534)) throw new RangeError(`short server id ${config.shortServerId} must be 1..65534`);
    if (!(Number.isInteger(config.lifetime) && config.lifetime > 0)) throw new RangeError(`lifetime ${config.lifetime} must be a positive number of seconds`);
    if (config.binding !== "U" && config.binding !== "UQ") throw new RangeError(`binding "${config.binding}" must be U or UQ`);
    const serverInstance = this.provisionServer(config);
    const attributes = new AttributeStore();
    const time = this.options.time;
    const context: DmContext = {
      store: this.store,
      shortServerId: config.shortServerId,
      serverVersion: config.version,
      bootstrap: false,
      attributes,
      log: this.options.log,
      defer: (action) => void time.setTimer(0, action),
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
      config,
      uri,
      peer: undefined,
      attributes,
      context,
      observations,
      serverInstance,
      awake: false,
      idleTimer: undefined,
      registration: new Registration({
        endpoint: this.endpoint,
        time,
        random: this.options.random,
        log: this.options.log?.child(`server${config.shortServerId}`),
        peer: () => session.peer,
        parameters: { endpointName: this.options.endpointName, shortServerId: config.shortServerId, lifetime: config.lifetime, binding: config.binding, version: config.version },
        links: () => this.registrationLinks(),
        onEvent: (event) => this.options.onEvent?.(event),
        onRegistered: () => {
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
    return session;
  }

  /**
   * Sends the values at `paths` to the server unsolicited (LwM2M 1.1 Send,
   * POST /dp in SenML CBOR). Refused while the server muted Send (/1/x/23).
   */
  send(paths: readonly LwM2mPath[], done: (error: Error | undefined) => void, shortServerId?: number): void {
    const session = shortServerId === undefined ? this.sessions[0] : this.sessions.find((s) => s.config.shortServerId === shortServerId);
    const fail = (message: string) => void this.options.time.setTimer(0, () => done(new Error(message)));
    if (!session || !session.peer) return fail("no such server");
    if (session.registration.state !== "registered" && session.registration.state !== "updating") return fail("not registered");
    if (session.config.version !== "1.1") return fail("Send needs an LwM2M 1.1 server");
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
      { peer: session.peer, method: Method.POST, path: "/dp", contentFormat: ContentFormat.SenmlCbor, payload: encodeSenmlCbor({ objectId: entries[0]!.path.objectId }, entries).slice() },
      (error, response) => {
        if (error) return done(error);
        done(response!.code === ResponseCode.Changed ? undefined : new Error(`Send answered ${codeString(response!.code)}`));
      },
    );
  }

  /** Queue mode: (re)starts the idle timer after traffic with the server. */
  private keepAwake(session: ServerSession): void {
    if (session.registration.parameters.binding !== "UQ") return;
    session.awake = true;
    this.options.time.clearTimer(session.idleTimer as never);
    session.idleTimer = this.options.time.setTimer(this.options.queueIdleMs ?? DEFAULT_QUEUE_IDLE_MS, () => {
      session.idleTimer = undefined;
      session.awake = false;
      this.options.log?.info(`queue mode: not listening to server ${session.config.shortServerId} until the next Update`);
    });
  }

  private sessionOf(peer: Peer): ServerSession | undefined {
    return this.sessions.find((candidate) => candidate.peer && peerKey(candidate.peer) === peerKey(peer));
  }

  private isAsleep(peer: Peer): boolean {
    const session = this.sessionOf(peer);
    return !!session && session.registration.parameters.binding === "UQ" && !session.awake && session.registration.state === "registered";
  }

  /** Security (/0) and Server (/1) instances for a configured server. */
  private provisionServer(config: Required<ServerConfig>): ObjectInstance {
    const securityObject = this.store.get(0)!;
    const serverObject = this.store.get(1)!;
    const security = securityObject.createInstance();
    security.set(0, config.uri);
    security.set(1, false);
    security.set(2, 3); // NoSec
    security.set(3, new Uint8Array(0));
    security.set(4, new Uint8Array(0));
    security.set(5, new Uint8Array(0));
    security.set(10, config.shortServerId);
    const serverInstance = serverObject.createInstance();
    serverInstance.set(0, config.shortServerId);
    serverInstance.set(1, config.lifetime);
    if (config.defaultMinPeriod) serverInstance.set(2, config.defaultMinPeriod);
    if (config.defaultMaxPeriod) serverInstance.set(3, config.defaultMaxPeriod);
    serverInstance.set(6, true);
    serverInstance.set(7, config.binding);
    return serverInstance;
  }

  private connect(session: ServerSession): void {
    const { host, port } = session.uri;
    const resolve = this.options.resolve;
    const numeric = /^[0-9.]+$/.test(host) || host.indexOf(":") >= 0;
    if (numeric || !resolve) {
      session.peer = { address: host, port };
      session.registration.start();
      return;
    }
    resolve(host, (error, address) => {
      if (error || !address) {
        this.options.onEvent?.({ type: "error", shortServerId: session.config.shortServerId, reason: "dns", temporary: true, message: error?.message ?? `cannot resolve ${host}`, retryInMs: 10000 });
        this.options.time.setTimer(10000, () => this.started && this.connect(session));
        return;
      }
      session.peer = { address, port };
      session.registration.start();
    });
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
    if (!this.started || this.structureTimer !== undefined) return;
    this.structureTimer = this.options.time.setTimer(0, () => {
      this.structureTimer = undefined;
      for (const session of this.sessions) session.registration.update({ objects: true });
    });
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}
