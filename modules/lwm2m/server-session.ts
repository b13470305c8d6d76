import type { Logger } from "../../hal/log.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { ResponseCode } from "../coap/constants.js";
import type { CoapEndpoint, ServerExchange } from "../coap/endpoint.js";
import { peerKey, type Peer } from "../coap/message.js";
import type { NotifyOutcome, Observer } from "../coap/observers.js";
import { AttributeStore } from "./attributes.js";
import type { Link } from "./content/link-format.js";
import { dispatch } from "./dispatcher.js";
import type { ObjectStore } from "./model/object-store.js";
import { Observations } from "./observations.js";
import type { DmContext } from "./operations/context.js";
import type { LwM2mPath } from "./path.js";
import { QueueMode, type SleepingPeers } from "./queue-mode.js";
import { Registration, type LifecycleEvent } from "./registration.js";
import { currentSecurity, type AccountSecurity } from "./account-security.js";
import type { AccountTransport } from "./account-transport.js";
import { DEFAULT_LIFETIME, numberOr, type ServerAccount } from "./server-accounts.js";
import { resolvePeer, type Resolver, type ServerUri } from "./server-uri.js";
import { ServerResource } from "./objects/server.js";

export interface ServerSessionOptions {
  readonly endpoint: CoapEndpoint;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  readonly endpointName: string;
  readonly version: "1.0" | "1.1";
  readonly store: ObjectStore;
  readonly sleeping: SleepingPeers;
  /** Routes this server plain or over DTLS, as its Security account says. */
  readonly transport: AccountTransport;
  readonly queueIdleMs: number;
  readonly resolve?: Resolver;
  readonly links: () => Link[];
  readonly accessControl: () => boolean;
  readonly confirmableNotifications?: (path: LwM2mPath) => boolean;
  readonly onNotified?: (path: LwM2mPath, outcome: NotifyOutcome, observer: Observer) => void;
  readonly onSubscribed?: (path: LwM2mPath, subscribed: boolean) => void;
  readonly onEvent: (session: ServerSession, event: LifecycleEvent) => void;
  /** The server executed Bootstrap-Request Trigger (/1/x/9). */
  readonly onBootstrapTrigger: () => void;
}

/** Resolving a server's name failed: try again after this long. */
const DNS_RETRY_MS = 10000;

/**
 * Everything the client keeps for one LwM2M server: its registration, the
 * notification attributes and observations it set, and queue mode (binding
 * UQ), which is a state of this session.
 */
export class ServerSession {
  readonly shortServerId: number;
  readonly uri: ServerUri;
  readonly securityInstanceId: number;
  readonly version: "1.0" | "1.1";
  readonly serverInstance: ServerAccount["serverInstance"];
  readonly context: DmContext;
  readonly observations: Observations;
  readonly registration: Registration;
  readonly queueMode: QueueMode;
  peer: Peer | undefined;
  /** Registration failures in a row (sequence mode falls back to bootstrap). */
  failures = 0;
  private readonly options: ServerSessionOptions;
  private dnsTimer: TimerHandle | undefined;
  private active = false;

  constructor(account: ServerAccount, options: ServerSessionOptions) {
    const { time, log } = options;
    const serverInstance = account.serverInstance;
    this.options = options;
    this.shortServerId = account.shortServerId;
    this.uri = account.uri;
    this.securityInstanceId = account.securityInstanceId;
    this.version = options.version;
    this.serverInstance = serverInstance;
    this.context = {
      store: options.store,
      shortServerId: account.shortServerId,
      bootstrap: false,
      attributes: new AttributeStore(),
      log,
      defer: (action) => void time.setTimer(0, action),
      accessControl: options.accessControl,
    };
    this.queueMode = new QueueMode({ time, idleMs: options.queueIdleMs, sleeping: options.sleeping, log, enabled: () => this.registration.parameters.binding === "UQ", peer: () => this.peer });
    this.observations = new Observations(time, {
      defaults: () => ({ pmin: numberOr(serverInstance.get(ServerResource.DefaultMinPeriod), 0), pmax: numberOr(serverInstance.get(ServerResource.DefaultMaxPeriod), 0) }),
      confirmable: options.confirmableNotifications ?? (() => true),
      onNotified: options.onNotified,
      onSubscribed: options.onSubscribed,
      canSend: () => this.queueMode.listening,
      onHeld: () => this.wakeUp(),
    });
    this.registration = new Registration({
      endpoint: options.endpoint,
      time,
      random: options.random,
      log: log?.child(`server${account.shortServerId}`),
      peer: () => this.peer,
      parameters: { endpointName: options.endpointName, shortServerId: account.shortServerId, lifetime: numberOr(serverInstance.get(ServerResource.Lifetime), DEFAULT_LIFETIME), binding: String(serverInstance.get(ServerResource.Binding) ?? "U"), version: options.version },
      links: options.links,
      onSend: () => this.queueMode.activity(),
      onEvent: (event) => options.onEvent(this, event),
      ...(account.uri.secure
        ? {
            connection: {
              problem: () => (this.peer && options.transport.sessionState(this.peer) === "handshaking" ? "handshake-timeout: no DTLS handshake completed while the request waited" : undefined),
              reset: () => this.peer && options.transport.closePeer(this.peer),
            },
          }
        : {}),
      onRegistered: (fresh) => {
        this.failures = 0;
        // A new registration replaces the old one on the server, and with it the observations it held.
        if (fresh) this.observations.stopOlderThan(this.registration.registerSentAt);
        this.queueMode.activity();
        this.observations.flushHeld();
      },
    });
    this.bindServerResources();
  }

  /** Resolves the server's address, then registers. */
  connect(): void {
    this.active = true;
    resolvePeer(
      this.uri,
      this.options.resolve,
      (peer) => {
        this.peer = peer;
        this.registration.start();
      },
      (message) => {
        this.options.onEvent(this, { type: "error", shortServerId: this.shortServerId, reason: "dns", temporary: true, message, retryInMs: DNS_RETRY_MS });
        this.dnsTimer = this.options.time.setTimer(DNS_RETRY_MS, () => {
          this.dnsTimer = undefined;
          if (this.active) this.connect();
        });
      },
    );
  }

  isPeer(peer: Peer): boolean {
    return !!this.peer && peerKey(this.peer) === peerKey(peer);
  }

  /** How this server's account says to reach it now (keys as the Security instance holds them). */
  security(): AccountSecurity | undefined {
    return currentSecurity(this.options.store, this.securityInstanceId);
  }

  /** The DTLS session with this server failed or was closed: a Register or Update under way is retried with back-off. */
  secureConnectionEnded(message: string): void {
    if (this.registration.connectionFailed(message)) return;
    this.options.log?.child(`server${this.shortServerId}`).info(`DTLS session ended (${message}); the next exchange starts a new handshake`);
  }

  /** A request from this server. */
  handle(exchange: ServerExchange): void {
    this.queueMode.activity();
    dispatch(exchange, this.context, this.observations);
  }

  /** True while observations of this server are live (registered, or an Update is under way). */
  get reachable(): boolean {
    return this.registration.state === "registered" || this.registration.state === "updating";
  }

  /** Pushes the value at `path` to this server's observers (see Observations.push); 0 while not registered. */
  push(path: LwM2mPath, onOutcome: (outcome: NotifyOutcome) => void): number {
    return this.reachable ? this.observations.push(path, onOutcome) : 0;
  }

  /** Registers again now (see Registration.reconnect); resolves the address first if it never was. */
  reconnect(options: { register?: boolean } = {}): void {
    if (!this.active) return;
    if (!this.peer) {
      this.options.time.clearTimer(this.dnsTimer);
      this.dnsTimer = undefined;
      return this.connect();
    }
    this.registration.reconnect(options);
  }

  update(changes?: { lifetime?: boolean; binding?: boolean; objects?: boolean }): void {
    this.registration.update(changes);
  }

  /** Deregisters (if asked and registered), ends the observations and queue mode. */
  stop(deregister: boolean, done: () => void = () => undefined): void {
    this.active = false;
    this.options.time.clearTimer(this.dnsTimer);
    this.dnsTimer = undefined;
    this.registration.stop(deregister, () => {
      this.observations.stopAll();
      this.queueMode.stop();
      // close_notify once the Deregister is answered; the session stays resumable.
      if (this.peer) this.options.transport.closePeer(this.peer);
      done();
    });
  }

  /** Queue mode: an Update tells the server the client listens again; held notifications follow its answer. */
  private wakeUp(): void {
    if (this.registration.state !== "registered") return;
    this.options.log?.info("queue mode: waking up for held notifications");
    this.registration.update();
  }

  /** Lifetime, Binding and Registration Update Trigger act on this session; Bootstrap-Request Trigger on the client. */
  private bindServerResources(): void {
    const time = this.options.time;
    const parameters = this.registration.parameters;
    this.serverInstance.bind(ServerResource.Lifetime, {
      write: (value) => {
        if (typeof value !== "number" || value <= 0) return ResponseCode.BadRequest;
        parameters.lifetime = value;
        time.setTimer(0, () => this.registration.update({ lifetime: true }));
      },
    });
    this.serverInstance.bind(ServerResource.Binding, {
      write: (value) => {
        if (value !== "U" && value !== "UQ") return ResponseCode.BadRequest;
        parameters.binding = value;
        time.setTimer(0, () => this.registration.update({ binding: true }));
      },
    });
    this.serverInstance.bind(ServerResource.RegistrationUpdateTrigger, { execute: () => void time.setTimer(0, () => this.registration.update()) });
    this.serverInstance.bind(ServerResource.BootstrapRequestTrigger, { executeAfterResponse: true, execute: () => this.options.onBootstrapTrigger() });
  }
}
