import type { TimerHandle } from "../../hal/time.js";
import { ResponseCode } from "../coap/constants.js";
import { CoapEndpoint } from "../coap/endpoint.js";
import type { NotifyOutcome, Observer } from "../coap/observers.js";
import type { DtlsError } from "../dtls/errors.js";
import type { DtlsSessionStats } from "../dtls/session.js";
import type { Peer } from "../coap/message.js";
import type { AccountSecurity } from "./account-security.js";
import { AllowedPeers } from "./allowed-peers.js";
import { AccountTransport } from "./account-transport.js";
import { BootstrapClient } from "./bootstrap-client.js";
import { loadBootstrapConfig } from "./bootstrap-store.js";
import type { LwM2mClientOptions } from "./client-options.js";
import type { Link } from "./content/link-format.js";
import { ObjectStore, type ResourceContent } from "./model/object-store.js";
import { streamsWriteRequest } from "./operations/write-block.js";
import { STANDARD_OBJECTS } from "./objects/index.js";
import type { LwM2mPath } from "./path.js";
import { DEFAULT_QUEUE_IDLE_MS, SleepingPeers } from "./queue-mode.js";
import { registrationLinks } from "./registration-links.js";
import type { LifecycleEvent } from "./registration.js";
import { sendValues } from "./send.js";
import { listServerAccounts, provisionServer } from "./server-accounts.js";
import { ServerSession } from "./server-session.js";

export type { BootstrapConfig, BootstrapMode, PskConfig, ServerConfig } from "./server-accounts.js";
export type { LwM2mDtlsOptions } from "./account-transport.js";
export { DEFAULT_LIFETIME } from "./server-accounts.js";
export { DEFAULT_QUEUE_IDLE_MS } from "./queue-mode.js";
export { DEFAULT_BOOTSTRAP_FINISH_TIMEOUT_MS } from "./bootstrap-client.js";
export type { LwM2mClientOptions } from "./client-options.js";

/** How one notification of a report ended, and for which server. */
export interface ReportOutcome {
  readonly shortServerId: number;
  readonly outcome: NotifyOutcome;
}

/** Creates an object store holding every standard object definition. */
export function createStandardStore(): ObjectStore {
  const store = new ObjectStore();
  for (const definition of STANDARD_OBJECTS) store.add(definition);
  return store;
}

/**
 * The LwM2M client: one CoAP endpoint, the object store, a session per
 * server account (factory-provisioned or bootstrapped), and the bootstrap
 * client. Requests are routed to the bootstrap client or to the session of
 * the server they come from.
 */
export class LwM2mClient {
  readonly store: ObjectStore;
  readonly endpoint: CoapEndpoint;
  private readonly options: LwM2mClientOptions;
  private readonly sleeping: SleepingPeers;
  private readonly transport: AccountTransport;
  /** Peers given a security outside the accounts (firmware download hosts). */
  private readonly allowed = new AllowedPeers();
  private sessions: ServerSession[] = [];
  private bootstrap: BootstrapClient | undefined;
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
    this.transport = new AccountTransport({
      inner: options.transport,
      time: options.time,
      ...(options.dtls ? { dtls: options.dtls } : {}),
      securityOf: (peer) => this.securityOf(peer),
      onSecureError: (peer, error) => this.secureConnectionEnded(peer, error),
    });
    this.sleeping = new SleepingPeers(this.transport);
    this.endpoint = new CoapEndpoint({
      transport: this.sleeping,
      time: options.time,
      random: options.random,
      log: options.log?.child("coap"),
      parameters: options.coap,
      ...(options.memory ? { memory: options.memory } : {}),
    });
    try {
      this.bootstrap = this.provision(options);
    } catch (error) {
      // A configuration refused here (a bad URI, coaps:// without a PSK or without DTLS) leaves no socket open.
      this.endpoint.close();
      throw error;
    }
    this.sessions = this.buildSessions();
    this.endpoint.setHandler((exchange) => {
      const peer = exchange.request.peer;
      if (this.bootstrap?.isPeer(peer)) return this.bootstrap.handle(exchange);
      const session = this.sessions.find((candidate) => candidate.isPeer(peer));
      if (!session) return exchange.refuse({ code: ResponseCode.Unauthorized });
      session.handle(exchange);
    }, {
      // Writes into a writeBlock hook (the firmware package) reach it block by block instead of being reassembled; never from the bootstrap server.
      streamsBlock1: (message, peer) => !this.bootstrap?.isPeer(peer) && streamsWriteRequest(this.store, message),
    });
    this.store.onValueChanged((path) => {
      for (const session of this.sessions) session.observations.valueChanged(path);
    });
    this.store.onStructureChanged(() => this.structureChanged());
  }

  /** Factory accounts (unless a bootstrapped configuration was restored) and the bootstrap client; throws RangeError on a refused configuration. */
  private provision(options: LwM2mClientOptions): BootstrapClient | undefined {
    const restored = options.settings && options.bootstrap ? loadBootstrapConfig(this.store, options.settings) : false;
    if (restored) options.log?.info("using the configuration of the last bootstrap");
    else (options.servers ?? []).forEach((server, index) => provisionServer(this.store, server, index, this.transport.dtlsAvailable));
    if (!options.bootstrap) return undefined;
    return new BootstrapClient(options.bootstrap, restored, {
      endpoint: this.endpoint,
      time: options.time,
      random: options.random,
      log: options.log,
      store: this.store,
      endpointName: options.endpointName,
      version: this.version,
      settings: options.settings,
      resolve: options.resolve,
      dtlsAvailable: this.transport.dtlsAvailable,
      transport: this.transport,
      onEvent: (event) => this.options.onEvent?.(event),
      onFinished: () => this.bootstrapFinished(),
    });
  }

  private get version(): "1.0" | "1.1" {
    return this.options.version ?? "1.1";
  }

  /** Registers with each server account, or bootstraps first when there is none (or the mode says so). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.bootstrap?.resolve();
    if (this.sessions.length === 0 && this.bootstrap) return this.bootstrap.begin();
    for (const session of this.sessions) session.connect();
  }

  /** Deregisters from every server, ends observations, and releases the endpoint. */
  stop(done: () => void = () => undefined): void {
    this.bootstrap?.stop();
    this.options.time.clearTimer(this.structureTimer);
    this.structureTimer = undefined;
    if (!this.started) {
      this.endpoint.close();
      done();
      return;
    }
    this.started = false;
    let pending = this.sessions.length + 1;
    const finished = () => {
      if (--pending > 0) return;
      // On a later turn: a DTLS close_notify held back while the last answer was being delivered goes out before the socket closes.
      this.options.time.setTimer(0, () => {
        this.endpoint.close();
        done();
      });
    };
    for (const session of this.sessions) session.stop(true, finished);
    finished();
  }

  registrationState(shortServerId?: number): string {
    if (this.bootstrap?.requested) return "bootstrapping";
    return this.session(shortServerId)?.registration.state ?? "unknown";
  }

  /** Observers of `path` (or of a path containing it) across servers. */
  observersOf(path: LwM2mPath): Observer[] {
    return this.sessions.flatMap((session) => session.observations.observersOf(path));
  }

  /**
   * Information Reporting of one value: stores `value` at the resource
   * `path` (when given) and sends it to every observer of the path, or of a
   * path containing it, as exactly one notification each, in the format that
   * observer asked for, regardless of pmin. In queue mode the client wakes
   * up (Update first). Returns how many notifications were started (0 while
   * nobody observes, or before registration); `done` hears every outcome
   * once the last one is in.
   */
  report(path: LwM2mPath, value: ResourceContent | undefined, done: (outcomes: readonly ReportOutcome[]) => void): number {
    if (value !== undefined) {
      const instance = path.instanceId === undefined ? undefined : this.store.get(path.objectId)?.instance(path.instanceId);
      if (!instance || path.resourceId === undefined) return 0;
      instance.set(path.resourceId, value, false);
    }
    const outcomes: ReportOutcome[] = [];
    let expected = 0;
    let counting = true;
    const settle = () => {
      if (!counting && outcomes.length === expected) done(outcomes);
    };
    for (const session of this.sessions) {
      expected += session.push(path, (outcome) => {
        outcomes.push({ shortServerId: session.shortServerId, outcome });
        settle();
      });
    }
    counting = false;
    if (expected > 0) settle();
    return expected;
  }

  /**
   * Reconnects with every server: an Update where registered, else a Register
   * now, ending a halt or a back-off. `register` asks for a Register everywhere
   * (the device's address changed).
   */
  reconnect(options: { register?: boolean } = {}): void {
    if (!this.started || this.bootstrap?.requested) return;
    for (const session of this.sessions) session.reconnect(options);
  }

  /** Triggers a Registration Update with every server. */
  updateRegistration(): void {
    for (const session of this.sessions) session.update();
  }

  /** LwM2M 1.1 Send of the values at `paths` to one server (the first by default). */
  send(paths: readonly LwM2mPath[], done: (error: Error | undefined) => void, shortServerId?: number): void {
    sendValues(this.endpoint, this.options.time, this.session(shortServerId), paths, done);
  }

  /** The state of the DTLS session with a server now; undefined when none is up (a plain server, or the session ended). */
  secureSessionState(shortServerId?: number): string | undefined {
    const peer = this.session(shortServerId)?.peer;
    return peer ? this.transport.sessionState(peer) : undefined;
  }

  /** Counters of the DTLS session with a server (the current one, else the last that connected); undefined for a plain one. */
  secureSessionStats(shortServerId?: number): DtlsSessionStats | undefined {
    const peer = this.session(shortServerId)?.peer;
    return peer ? this.transport.stats(peer) : undefined;
  }

  /** Whether coaps:// peers can be reached (the client was given DTLS). */
  get dtlsAvailable(): boolean {
    return this.transport.dtlsAvailable;
  }

  /** The PSK of a server account (the first by default), undefined for a NoSec one: a download from another host may use the same credentials. */
  serverPsk(shortServerId?: number): { readonly identity: Uint8Array; readonly key: Uint8Array } | undefined {
    const security = this.session(shortServerId)?.security();
    return security?.mode === "psk" ? { identity: security.identity, key: security.key } : undefined;
  }

  /**
   * Gives `peer`, which is no server account's, a security until
   * forgetPeer(): a PSK one is then reached over DTLS on the client's socket
   * (a coaps:// firmware download host). `onError` hears a DTLS failure
   * with it. An account's own peer keeps its account's security (true,
   * nothing recorded). False when refused: PSK in a build without DTLS, or
   * MAX_ALLOWED_PEERS (4) peers already allowed.
   */
  allowPeer(peer: Peer, security: AccountSecurity, onError?: (message: string) => void): boolean {
    if (this.accountSecurityOf(peer) !== undefined) return true;
    if (security.mode === "psk" && !this.transport.dtlsAvailable) return false;
    return this.allowed.allow(peer, security, onError);
  }

  /** Takes back what allowPeer() gave: a DTLS session with the peer is closed (close_notify) and the peer is plain again. */
  forgetPeer(peer: Peer): void {
    if (this.allowed.securityOf(peer)?.mode === "psk") this.transport.closePeer(peer);
    this.allowed.forget(peer);
  }

  /** The object list announced in Register. */
  registrationLinks(): Link[] {
    return registrationLinks(this.store);
  }

  private session(shortServerId: number | undefined): ServerSession | undefined {
    return shortServerId === undefined ? this.sessions[0] : this.sessions.find((s) => s.shortServerId === shortServerId);
  }

  private buildSessions(): ServerSession[] {
    const o = this.options;
    return listServerAccounts(this.store, o.log, this.transport.dtlsAvailable).map(
      (account) =>
        new ServerSession(account, {
          endpoint: this.endpoint,
          time: o.time,
          random: o.random,
          log: o.log,
          endpointName: o.endpointName,
          version: this.version,
          store: this.store,
          sleeping: this.sleeping,
          transport: this.transport,
          queueIdleMs: o.queueIdleMs ?? DEFAULT_QUEUE_IDLE_MS,
          resolve: o.resolve,
          links: () => registrationLinks(this.store),
          accessControl: () => this.sessions.length > 1,
          confirmableNotifications: o.confirmableNotifications,
          onNotified: o.onNotified,
          onSubscribed: o.onSubscribed,
          onEvent: (session, event) => this.registrationEvent(session, event),
          onBootstrapTrigger: () => this.fallBackToBootstrap("the server asked for a bootstrap (/1/x/9)"),
        }),
    );
  }

  /** How to reach `peer`: as its account says (the bootstrap server's, a server session's), else as allowPeer() said. */
  private securityOf(peer: Peer): AccountSecurity | undefined {
    return this.accountSecurityOf(peer) ?? this.allowed.securityOf(peer);
  }

  private accountSecurityOf(peer: Peer): AccountSecurity | undefined {
    if (this.bootstrap?.isPeer(peer)) return this.bootstrap.security();
    return this.sessions.find((candidate) => candidate.isPeer(peer))?.security();
  }

  /** A DTLS session failed or was closed by its peer: the bootstrap or the registration under way retries with back-off. */
  private secureConnectionEnded(peer: Peer, error: DtlsError): void {
    if (this.bootstrap?.isPeer(peer)) return this.bootstrap.connectionFailed(error.message);
    const session = this.sessions.find((candidate) => candidate.isPeer(peer));
    if (session) session.secureConnectionEnded(error.message);
    else this.allowed.failed(peer, error.message);
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

  private fallBackToBootstrap(reason: string): void {
    if (!this.bootstrap || this.bootstrap.requested || !this.started) return;
    this.options.log?.warn(`falling back to bootstrap: ${reason}`);
    for (const session of this.sessions) session.stop(false);
    this.bootstrap.begin();
  }

  /** Bootstrap-Finish accepted: sessions for the provisioned servers replace the old ones, then they register. */
  private bootstrapFinished(): void {
    // The bootstrap server's DTLS session is no longer needed (close_notify); a later bootstrap starts a new one.
    const bootstrapPeer = this.bootstrap?.serverPeer;
    if (bootstrapPeer) this.transport.closePeer(bootstrapPeer);
    for (const session of this.sessions) session.stop(false);
    this.sessions = this.buildSessions();
    if (this.sessions.length === 0) {
      if (this.started) this.bootstrap?.restart("the bootstrapped configuration has no usable server account");
      return;
    }
    this.options.onEvent?.({ type: "bootstrapped", servers: this.sessions.map((session) => session.shortServerId) });
    if (this.started) for (const session of this.sessions) session.connect();
  }

  private structureChanged(): void {
    if (!this.started || this.structureTimer !== undefined || this.bootstrap?.requested) return;
    this.structureTimer = this.options.time.setTimer(0, () => {
      this.structureTimer = undefined;
      for (const session of this.sessions) session.update({ objects: true });
    });
  }
}
