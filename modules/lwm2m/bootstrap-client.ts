import type { Logger } from "../../hal/log.js";
import type { RandomSource } from "../../hal/random.js";
import type { SettingsStore } from "../../hal/storage.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { codeString, ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import type { CoapEndpoint, ServerExchange } from "../coap/endpoint.js";
import { peerKey, type Peer } from "../coap/message.js";
import { AttributeStore } from "./attributes.js";
import { retryDelayMs } from "./backoff.js";
import type { OutgoingResponse } from "../coap/response.js";
import { dispatchBootstrap } from "./bootstrap-dispatcher.js";
import { saveBootstrapConfig } from "./bootstrap-store.js";
import type { ObjectStore } from "./model/object-store.js";
import { bootstrapAccountId, bootstrapInconsistency } from "./operations/bootstrap.js";
import { status, type DmContext } from "./operations/context.js";
import type { LifecycleErrorReason, LifecycleEvent } from "./registration.js";
import { currentSecurity, type AccountSecurity } from "./account-security.js";
import type { AccountTransport } from "./account-transport.js";
import { numberOr, provisionBootstrapAccount, type BootstrapConfig } from "./server-accounts.js";
import { resolvePeer, type Resolver, type ServerUri } from "./server-uri.js";
import { ObjectId } from "./objects/object-ids.js";
import { SecurityResource } from "./objects/security.js";

export const DEFAULT_BOOTSTRAP_FINISH_TIMEOUT_MS = 60000;

export interface BootstrapClientOptions {
  readonly endpoint: CoapEndpoint;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  readonly store: ObjectStore;
  readonly endpointName: string;
  readonly version: "1.0" | "1.1";
  readonly settings?: SettingsStore;
  readonly resolve?: Resolver;
  /** Whether PSK accounts (coaps://) can be used: the client has a DTLS engine. */
  readonly dtlsAvailable: boolean;
  /** Routes the bootstrap server plain or over DTLS, as its account says. */
  readonly transport: AccountTransport;
  readonly onEvent: (event: LifecycleEvent) => void;
  /** Bootstrap-Finish was accepted and the configuration kept. */
  readonly onFinished: () => void;
}

/**
 * The client side of the bootstrap interface: client-initiated (hold-off,
 * Bootstrap-Request, retries with back-off, a deadline for Finish) and
 * server-initiated (requests from the bootstrap server at any time).
 */
export class BootstrapClient {
  readonly uri: ServerUri;
  /** True from the start of a bootstrap until Finish. */
  requested = false;
  private readonly config: BootstrapConfig;
  private readonly options: BootstrapClientOptions;
  private readonly context: DmContext;
  private peer: Peer | undefined;
  private timer: TimerHandle | undefined;
  private attempt = 0;
  /** Counts Bootstrap-Requests, so the answer to one given up (its DTLS session failed) is ignored. */
  private requestSerial = 0;
  private cancelRequest: (() => void) | undefined;

  constructor(config: BootstrapConfig, restored: boolean, options: BootstrapClientOptions) {
    this.config = config;
    this.options = options;
    this.uri = provisionBootstrapAccount(options.store, config, restored, options.dtlsAvailable);
    const time = options.time;
    this.context = { store: options.store, shortServerId: 0, bootstrap: true, attributes: new AttributeStore(), log: options.log, defer: (action) => void time.setTimer(0, action) };
  }

  /** Resolves the bootstrap server's address, so its requests are recognised. */
  resolve(): void {
    resolvePeer(this.uri, this.options.resolve, (peer) => (this.peer = peer), () => undefined);
  }

  isPeer(peer: Peer): boolean {
    return !!this.peer && peerKey(this.peer) === peerKey(peer);
  }

  /** The bootstrap server's peer, once resolved. */
  get serverPeer(): Peer | undefined {
    return this.peer;
  }

  /** How the bootstrap server's own Security instance says to reach it. */
  security(): AccountSecurity | undefined {
    return currentSecurity(this.options.store, bootstrapAccountId(this.options.store));
  }

  /** The DTLS session with the bootstrap server failed: a Bootstrap-Request under way is retried with back-off. */
  connectionFailed(message: string): void {
    if (!this.requested || !this.cancelRequest) {
      this.options.log?.info(`bootstrap server's DTLS session ended (${message})`);
      return;
    }
    const cancel = this.cancelRequest;
    this.cancelRequest = undefined;
    this.requestSerial++;
    cancel();
    this.retry(message, "secure-connection");
  }

  /**
   * A request from the bootstrap server. The interface is open while a
   * bootstrap is under way: from begin() (the hold-off time included, when a
   * server-initiated bootstrap is expected) until Finish is accepted or the
   * bootstrap is given up; a DM server opens it with /1/x/9.
   */
  handle(exchange: ServerExchange): void {
    dispatchBootstrap(exchange, this.context, this.options.version, {
      open: this.requested,
      command: () => this.awaitFinish(),
      finish: () => this.finish(),
    });
  }

  /** Waits the hold-off time for a server-initiated bootstrap, then sends the Bootstrap-Request. */
  begin(): void {
    this.requested = true;
    this.options.onEvent({ type: "bootstrap-started", uri: this.config.uri });
    const account = this.options.store.get(ObjectId.Security)!.instance(bootstrapAccountId(this.options.store) ?? -1);
    this.arm(numberOr(account?.get(SecurityResource.ClientHoldOffTime), 0) * 1000, () => this.request());
  }

  stop(): void {
    this.requested = false;
    this.requestSerial++;
    this.cancelRequest = undefined;
    this.clearTimer();
  }

  /** The configuration a bootstrap left is unusable after all: bootstrap again after a back-off, with an error event. */
  restart(reason: string): void {
    this.requested = true;
    this.retry(reason);
  }

  private request(): void {
    const peer = this.peer;
    if (!peer) return this.retry("the bootstrap server address is not resolved");
    const query = [`ep=${this.options.endpointName}`];
    if (this.options.version === "1.1") query.push(`pct=${ContentFormat.SenmlCbor}`);
    this.options.log?.info(`requesting bootstrap from ${this.config.uri}`);
    const serial = ++this.requestSerial;
    let answered = false;
    const handle = this.options.endpoint.request({ peer, method: Method.POST, path: "/bs", query }, (error, response) => {
      answered = true;
      if (!this.requested || serial !== this.requestSerial) return;
      this.cancelRequest = undefined;
      if (error?.kind === "timeout" && this.uri.secure) return this.secureTimeout(peer, error.message);
      if (error) return this.retry(error.message);
      if (response!.code !== ResponseCode.Changed) return this.retry(`Bootstrap-Request answered ${codeString(response!.code)}`);
      this.awaitFinish();
    });
    if (!answered) this.cancelRequest = handle.cancel;
  }

  /** No answer over DTLS: a handshake that never finished is the secure connection's failure; the next request starts a new session. */
  private secureTimeout(peer: Peer, message: string): void {
    const handshaking = this.options.transport.sessionState(peer) === "handshaking";
    this.options.transport.closePeer(peer);
    if (handshaking) this.retry("handshake-timeout: no DTLS handshake completed while the Bootstrap-Request waited", "secure-connection");
    else this.retry(message);
  }

  /** Bootstrap-Finish must come within the deadline after the last command (or after the Bootstrap-Request). */
  private awaitFinish(): void {
    this.arm(this.config.finishTimeoutMs ?? DEFAULT_BOOTSTRAP_FINISH_TIMEOUT_MS, () => this.retry("no Bootstrap-Finish in time"));
  }

  private retry(message: string, reason: LifecycleErrorReason = "unknown"): void {
    const delay = retryDelayMs(this.attempt++, this.options.random);
    this.options.log?.warn(`bootstrap failed (${message}); retry in ${(delay / 1000).toFixed(0)} s`);
    this.options.onEvent({ type: "error", shortServerId: 0, reason, temporary: true, message: `bootstrap: ${message}`, retryInMs: delay });
    this.arm(delay, () => this.request());
  }

  private arm(delayMs: number, action: () => void): void {
    this.clearTimer();
    this.timer = this.options.time.setTimer(delayMs, () => {
      this.timer = undefined;
      action();
    });
  }

  private clearTimer(): void {
    this.options.time.clearTimer(this.timer);
    this.timer = undefined;
  }

  /**
   * Bootstrap-Finish: the configuration must be consistent, usable and
   * kept before the 2.04 leaves; otherwise 4.06 says why and the bootstrap
   * server may correct it (the deadline for Finish still runs). On success
   * the instances the application owns come back, and the interface closes.
   */
  private finish(): OutgoingResponse {
    const store = this.options.store;
    const settings = this.options.settings;
    const problem = bootstrapInconsistency(store, this.options.dtlsAvailable) ?? (settings ? saveBootstrapConfig(store, settings) : undefined);
    if (problem) {
      this.options.log?.warn(`Bootstrap-Finish refused: ${problem}`);
      return status(ResponseCode.NotAcceptable, problem);
    }
    store.restoreOwned();
    this.requested = false;
    this.attempt = 0;
    this.arm(0, () => this.options.onFinished());
    return { code: ResponseCode.Changed };
  }
}
