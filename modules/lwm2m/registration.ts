import type { Logger } from "../../hal/log.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { codeClass, codeString, ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import { requestWithBody } from "../coap/blockwise-client.js";
import type { CoapEndpoint } from "../coap/endpoint.js";
import type { CoapError } from "../coap/errors.js";
import { getLocationPath, utf8Encode, type CoapMessage, type Peer } from "../coap/message.js";
import { DEFAULT_COAP_PARAMETERS, maxTransmitWaitMs } from "../coap/params.js";
import { retryDelayMs } from "./backoff.js";
import { formatLinks, type Link } from "./content/link-format.js";

export type LifecycleErrorReason =
  /** Temporary: retried with back-off. */
  | "network"
  | "dns"
  | "secure-connection"
  | "timeout"
  | "unknown"
  /** The server answered 5.03 Service Unavailable. */
  | "server-busy"
  /** The server answered another 5.xx. */
  | "server-error"
  /** Halting: the server's registration stops until start() is called again. */
  | "invalid-parameters"
  | "memory"
  | "not-allowed";

export type LifecycleEvent =
  | { readonly type: "registered"; readonly shortServerId: number; readonly location: string }
  | { readonly type: "updated"; readonly shortServerId: number }
  | { readonly type: "unregistered"; readonly shortServerId: number }
  | { readonly type: "bootstrap-started"; readonly uri: string }
  | { readonly type: "bootstrapped"; readonly servers: readonly number[] }
  | { readonly type: "error"; readonly shortServerId: number; readonly reason: LifecycleErrorReason; readonly temporary: boolean; readonly message: string; readonly retryInMs?: number };

export interface RegistrationParameters {
  readonly endpointName: string;
  readonly shortServerId: number;
  lifetime: number;
  binding: string;
  readonly version: "1.0" | "1.1";
}


/**
 * When an Update goes out: `lifetime − margin`, the margin being the largest
 * of 10 % of the lifetime, 10 s and MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2: first
 * transmission to giving up, 93 s with the default CoAP parameters), but at
 * most half the lifetime, and never sooner than 1 s.
 *
 * So when the lifetime is at least 2 × MAX_TRANSMIT_WAIT (186 s by default),
 * every retransmission of the Update, and the wait for its last ACK, fall
 * inside the lifetime: the server does not see the registration expire
 * while the Update is retransmitted. A shorter lifetime cannot hold that
 * span without Updating more than twice per lifetime: the Update then goes
 * out at half the lifetime, and its late retransmissions (after
 * lifetime / 2 of losses) can reach the server after the registration
 * expired there.
 */
export function updateDelayMs(lifetimeSeconds: number, transmitWaitMs: number = maxTransmitWaitMs(DEFAULT_COAP_PARAMETERS)): number {
  const lifetimeMs = lifetimeSeconds * 1000;
  const marginMs = Math.min(lifetimeMs / 2, Math.max(10000, lifetimeMs * 0.1, transmitWaitMs));
  return Math.max(1000, lifetimeMs - marginMs);
}

export type RegistrationState = "idle" | "registering" | "registered" | "updating" | "waiting" | "deregistering" | "halted";

export interface RegistrationOptions {
  readonly endpoint: CoapEndpoint;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  readonly peer: () => Peer | undefined;
  readonly parameters: RegistrationParameters;
  /** The object links announced in Register and in Updates after a change. */
  readonly links: () => Link[];
  readonly onEvent: (event: LifecycleEvent) => void;
  /** Called before each Register, Update and Deregister leaves (queue mode listens for the answer). */
  readonly onSend?: () => void;
  /** Called after each successful Register or Update (queue mode flushes, observations resume). */
  readonly onRegistered?: (fresh: boolean) => void;
  /** The secure connection (DTLS) under the exchanges, for a server reached over coaps://. */
  readonly connection?: SecureConnection;
}

/** What the registration needs of a DTLS session with its server. */
export interface SecureConnection {
  /** Why no secure session is up while a request waits (a handshake still running), or undefined. */
  problem(): string | undefined;
  /** Drops the session (close_notify when open), so the next request starts a new handshake (resumed when the server allows). */
  reset(): void;
}

/** Register, Update and Deregister with one server (OMA-TS-LightweightM2M_Core §6.2). */
export class Registration {
  state: RegistrationState = "idle";
  /** When the last Register left: observations older than a successful Register belong to a registration the server dropped. */
  registerSentAt = 0;
  private readonly options: RegistrationOptions;
  private location: string[] = [];
  private timer: TimerHandle | undefined;
  private attempt = 0;
  private pendingChanges = { lifetime: false, binding: false, objects: false };
  private cancelRequest: (() => void) | undefined;

  constructor(options: RegistrationOptions) {
    this.options = options;
  }

  get parameters(): RegistrationParameters {
    return this.options.parameters;
  }

  get locationPath(): string {
    return `/${this.location.join("/")}`;
  }

  start(): void {
    if (this.state !== "idle" && this.state !== "halted") return;
    this.attempt = 0;
    this.register();
  }

  /**
   * atiny_reconnect: an Update when registered; otherwise a Register now,
   * ending a halt or a back-off (and its attempt count). With `register`, a
   * Register in any case: after the network came back on another address,
   * which the server's observations do not know.
   */
  reconnect(options: { register?: boolean } = {}): void {
    if (!options.register && (this.state === "registered" || this.state === "updating")) return this.update();
    if (this.state === "registering" || this.state === "deregistering") return;
    this.clearTimer();
    // An Update under way is replaced; leave its state first so its cancelled callback starts nothing.
    this.state = "idle";
    this.cancelRequest?.();
    this.cancelRequest = undefined;
    this.attempt = 0;
    this.register();
  }

  /** Sends an Update now (Registration Update Trigger, changed parameters or objects). */
  update(changes: { lifetime?: boolean; binding?: boolean; objects?: boolean } = {}): void {
    if (changes.lifetime) this.pendingChanges.lifetime = true;
    if (changes.binding) this.pendingChanges.binding = true;
    if (changes.objects) this.pendingChanges.objects = true;
    if (this.state === "registered") this.sendUpdate();
  }

  /** Deregisters (when registered) and stops; `done` runs once the server answered or gave up. */
  stop(deregister: boolean, done: () => void = () => undefined): void {
    this.clearTimer();
    const registered = this.state === "registered" || this.state === "updating";
    // Leave the current state first, so the cancelled request's callback does not start a new Register.
    this.state = "idle";
    this.cancelRequest?.();
    this.cancelRequest = undefined;
    if (!deregister || !registered) {
      this.state = "idle";
      done();
      return;
    }
    const peer = this.options.peer();
    if (!peer) {
      this.state = "idle";
      done();
      return;
    }
    this.state = "deregistering";
    this.options.onSend?.();
    this.options.endpoint.request({ peer, method: Method.DELETE, path: this.locationPath }, (error, response) => {
      this.state = "idle";
      if (error) this.options.log?.warn(`deregister: ${error.message}`);
      else this.options.log?.info(`deregistered (${codeString(response!.code)})`);
      this.options.onEvent({ type: "unregistered", shortServerId: this.parameters.shortServerId });
      done();
    });
  }

  /**
   * The secure connection failed (handshake failure, fatal alert, lost or
   * closed session): a Register or Update under way ends as a temporary
   * "secure-connection" error, retried with back-off over a new handshake.
   * Returns false when no request was under way.
   */
  connectionFailed(message: string): boolean {
    if (this.state !== "registering" && this.state !== "updating") return false;
    const cancel = this.cancelRequest;
    this.cancelRequest = undefined;
    // Leave the state first, so the cancelled request's callback does nothing.
    this.state = "waiting";
    cancel?.();
    this.fail("secure-connection", message, true);
    return true;
  }

  private register(): void {
    const peer = this.options.peer();
    if (!peer) {
      this.fail("dns", "the server address is not resolved", true);
      return;
    }
    this.state = "registering";
    this.registerSentAt = this.options.time.monotonicMs();
    this.options.onSend?.();
    const p = this.parameters;
    const query = [`ep=${p.endpointName}`, `lt=${p.lifetime}`, `lwm2m=${p.version}`, `b=${p.binding}`];
    const payload = utf8Encode(formatLinks(this.options.links()));
    this.options.log?.info(`registering as "${p.endpointName}" (lifetime ${p.lifetime} s, binding ${p.binding})`);
    // An object list larger than one message goes block-wise (Block1, OMA-TS-LightweightM2M_Transport §6.4).
    const handle = requestWithBody(this.options.endpoint, { peer, method: Method.POST, path: "/rd", query, contentFormat: ContentFormat.LinkFormat, payload }, (error, response) => {
      this.cancelRequest = undefined;
      if (this.state !== "registering") return;
      if (error) return this.failFromCoap(error);
      const reply = response!;
      if (reply.code !== ResponseCode.Created) return this.failFromCode(reply.code, "Register");
      this.location = getLocationPath(reply);
      if (this.location.length === 0) return this.fail("invalid-parameters", "Register answer carries no Location-Path", false);
      this.attempt = 0;
      this.pendingChanges = { lifetime: false, binding: false, objects: false };
      this.state = "registered";
      this.options.log?.info(`registered at ${this.locationPath}`);
      this.options.onEvent({ type: "registered", shortServerId: p.shortServerId, location: this.locationPath });
      this.scheduleUpdate();
      this.options.onRegistered?.(true);
    });
    this.cancelRequest = handle.cancel;
  }

  private sendUpdate(): void {
    const peer = this.options.peer();
    if (!peer) return this.register();
    this.clearTimer();
    this.state = "updating";
    const p = this.parameters;
    const query: string[] = [];
    if (this.pendingChanges.lifetime) query.push(`lt=${p.lifetime}`);
    if (this.pendingChanges.binding) query.push(`b=${p.binding}`);
    const withObjects = this.pendingChanges.objects;
    const payload = withObjects ? utf8Encode(formatLinks(this.options.links())) : undefined;
    const sent = { ...this.pendingChanges };
    this.options.onSend?.();
    this.pendingChanges = { lifetime: false, binding: false, objects: false };
    const onAnswer = (error: CoapError | undefined, response?: CoapMessage) => {
      this.cancelRequest = undefined;
      if (this.state !== "updating") return;
      if (!error && response!.code === ResponseCode.Changed) {
        this.state = "registered";
        this.options.log?.debug(`registration updated`);
        this.options.onEvent({ type: "updated", shortServerId: p.shortServerId });
        this.scheduleUpdate();
        this.options.onRegistered?.(false);
        return;
      }
      // A failed Update falls back to a full Register (the server may have lost the registration, or the DTLS session).
      this.options.log?.warn(`update failed (${error ? error.message : codeString(response!.code)}); registering again`);
      if (error?.kind === "timeout") this.options.connection?.reset();
      this.pendingChanges = { lifetime: this.pendingChanges.lifetime || sent.lifetime, binding: this.pendingChanges.binding || sent.binding, objects: this.pendingChanges.objects || sent.objects };
      this.register();
    };
    const request = { peer, method: Method.POST, path: this.locationPath, query };
    const handle = payload ? requestWithBody(this.options.endpoint, { ...request, payload, contentFormat: ContentFormat.LinkFormat }, onAnswer) : this.options.endpoint.request(request, onAnswer);
    this.cancelRequest = handle.cancel;
  }

  private scheduleUpdate(): void {
    this.clearTimer();
    this.timer = this.options.time.setTimer(updateDelayMs(this.parameters.lifetime, maxTransmitWaitMs(this.options.endpoint.parameters)), () => {
      this.timer = undefined;
      if (this.state === "registered") this.sendUpdate();
    });
  }

  private failFromCoap(error: CoapError): void {
    const connection = this.options.connection;
    if (connection && error.kind === "timeout") {
      // No answer over DTLS: a handshake that never finished is the secure connection's failure; either way the next attempt starts a new session.
      const problem = connection.problem();
      connection.reset();
      if (problem) return this.fail("secure-connection", problem, true);
    }
    const reason: LifecycleErrorReason = error.kind === "timeout" ? "timeout" : error.kind === "transport" ? "network" : error.kind === "limit" ? "memory" : "unknown";
    this.fail(reason, error.message, reason !== "memory");
  }

  private failFromCode(code: number, what: string): void {
    const halting = code === ResponseCode.BadRequest || code === ResponseCode.Forbidden || code === ResponseCode.PreconditionFailed || code === ResponseCode.Unauthorized;
    const reason: LifecycleErrorReason =
      code === ResponseCode.Forbidden || code === ResponseCode.Unauthorized
        ? "not-allowed"
        : halting
          ? "invalid-parameters"
          : code === ResponseCode.ServiceUnavailable
            ? "server-busy"
            : codeClass(code) === 5
              ? "server-error"
              : "unknown";
    this.fail(reason, `${what} answered ${codeString(code)}`, !halting && codeClass(code) !== 4);
  }

  private fail(reason: LifecycleErrorReason, message: string, temporary: boolean): void {
    const p = this.parameters;
    if (!temporary) {
      this.state = "halted";
      this.options.log?.error(`registration halted: ${message}`);
      this.options.onEvent({ type: "error", shortServerId: p.shortServerId, reason, temporary: false, message });
      return;
    }
    const retryInMs = retryDelayMs(this.attempt, this.options.random);
    this.attempt++;
    this.state = "waiting";
    this.options.log?.warn(`registration failed (${message}); retry ${this.attempt} in ${(retryInMs / 1000).toFixed(1)} s`);
    this.options.onEvent({ type: "error", shortServerId: p.shortServerId, reason, temporary: true, message, retryInMs });
    this.clearTimer();
    this.timer = this.options.time.setTimer(retryInMs, () => {
      this.timer = undefined;
      if (this.state === "waiting") this.register();
    });
  }

  private clearTimer(): void {
    this.options.time.clearTimer(this.timer);
    this.timer = undefined;
  }
}
