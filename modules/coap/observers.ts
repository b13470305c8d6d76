import type { Time } from "../../hal/time.js";
import { codeClass, MessageType, Method, OBSERVE_SEQUENCE_MODULO, OptionNumber } from "./constants.js";
import { bytesEqual, createMessage, getUriPath, getUriQuery, getUintOption, peerKey, setUintOption, type CoapMessage, type Peer } from "./message.js";
import type { CoapParameters } from "./params.js";
import { applyResponse, type OutgoingResponse } from "./response.js";

export type ObserverCancelReason = "reset" | "timeout" | "deregistered" | "replaced" | "cancelled" | "closed";

/** acknowledged (CON ACK), sent (NON), reset (RST), timeout (no ACK), failed (not sent), cancelled (the observer ended first). */
export type NotifyOutcome = "acknowledged" | "sent" | "reset" | "timeout" | "failed" | "cancelled";

export interface NotifyOptions {
  /** CON (acknowledged) or NON; a CON is forced when the last one is older than observeConIntervalMs. */
  readonly confirmable?: boolean;
  /** How the notification ended; after reset or timeout the observer is gone. */
  readonly onDone?: (outcome: NotifyOutcome) => void;
}

/** One registered observer of a resource (RFC 7641 server side). */
export interface Observer {
  readonly id: number;
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly accept: number | undefined;
  readonly active: boolean;
  /** Notifications waiting behind an unacknowledged CON notification or the registering response. */
  readonly queued: number;
  nextSequence(): number;
  /**
   * Sends a notification. CON notifications go one at a time per observer;
   * later ones, and any sent before the registering response has left, wait
   * in a queue of MAX_QUEUED_NOTIFICATIONS. Returns false when the queue is
   * full or the observer has ended.
   *
   * A non-2.xx response is the final notification (RFC 7641 §4.2): it goes
   * out without an Observe option, after those queued before it, and ends
   * the observer at once (onCancel "cancelled"); a cancel() that follows
   * does not stop it from leaving.
   */
  notify(response: OutgoingResponse, options?: NotifyOptions): boolean;
  cancel(reason?: ObserverCancelReason): void;
}

export const MAX_QUEUED_NOTIFICATIONS = 8;

/** Message IDs of the latest NON notifications kept per observer, so an RST answering one of them ends it (RFC 7641 §3.6). */
export const RECENT_NON_NOTIFICATIONS = 4;

/**
 * An observer as the server holds it between acceptObserve() and the
 * registering response: its notifications wait, so none reaches the client
 * before the response (a strict client would answer it with RST).
 */
export interface HeldObserver extends Observer {
  /** The registering response has been transmitted: held notifications go out, in order. */
  release(): void;
}

export interface ObserverTransport {
  send(observer: Observer, message: CoapMessage, confirmable: boolean, onAck: () => void, onFailure: (reason: ObserverCancelReason) => void): boolean;
  nextMessageId(): number;
}

interface Pending {
  readonly response: OutgoingResponse;
  readonly options: NotifyOptions;
}

class ObserverEntry implements HeldObserver {
  readonly id: number;
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly accept: number | undefined;
  readonly resourceKey: string;
  /** A FETCH's payload is part of what it observes (RFC 8132 §2.4). */
  readonly requestPayload: Uint8Array;
  active = true;
  private readonly registry: Observers;
  private readonly onCancel: ((reason: ObserverCancelReason) => void) | undefined;
  private readonly queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private held = true;
  /** Inactive, but a final (non-2.xx) notification is still queued or in flight. */
  private ending = false;
  private readonly recentNonIds: number[] = [];
  lastConAt: number;

  constructor(registry: Observers, id: number, peer: Peer, request: CoapMessage, now: number, onCancel?: (reason: ObserverCancelReason) => void) {
    this.registry = registry;
    this.id = id;
    this.peer = peer;
    this.token = request.token.slice();
    this.path = getUriPath(request);
    this.query = getUriQuery(request);
    this.accept = getUintOption(request, OptionNumber.Accept);
    this.resourceKey = resourceKey(peer, request);
    this.requestPayload = request.code === Method.FETCH ? request.payload.slice() : new Uint8Array(0);
    this.onCancel = onCancel;
    this.lastConAt = now;
  }

  get queued(): number {
    return this.queue.length;
  }

  nextSequence(): number {
    return this.registry.nextSequence();
  }

  notify(response: OutgoingResponse, options: NotifyOptions = {}): boolean {
    if (!this.active) return false;
    const pending = { response, options };
    const final = codeClass(response.code) !== 2;
    if (this.held || this.inFlight) {
      if (this.queue.length >= MAX_QUEUED_NOTIFICATIONS) return false;
      this.queue.push(pending);
      if (final) this.endAfterQueue();
      return true;
    }
    if (final) this.endAfterQueue();
    this.transmit(pending);
    return true;
  }

  /** The observation ends now; what is queued (ending with the final notification) still goes out. */
  private endAfterQueue(): void {
    this.active = false;
    this.ending = true;
    this.registry.remove(this);
    this.onCancel?.("cancelled");
  }

  private get draining(): boolean {
    return this.active || this.ending;
  }

  release(): void {
    if (!this.held) return;
    // Still held while draining, so a notify() from an onDone callback queues behind the rest.
    while (this.draining && !this.inFlight && this.queue.length > 0) this.transmit(this.queue.shift()!);
    this.held = false;
  }

  private transmit(pending: Pending): void {
    const now = this.registry.now();
    const confirmable = pending.options.confirmable === true || now - this.lastConAt >= this.registry.parameters.observeConIntervalMs;
    const message = createMessage(MessageType.NonConfirmable, pending.response.code, this.registry.transport.nextMessageId(), this.token);
    applyResponse(message, pending.response);
    if (codeClass(pending.response.code) === 2) setUintOption(message, OptionNumber.Observe, this.nextSequence());
    else this.ending = false; // RFC 7641 §4.2: the final notification carries no Observe option

    if (!confirmable) {
      const sent = this.registry.transport.send(this, message, false, () => undefined, () => undefined);
      if (sent) {
        this.recentNonIds.push(message.messageId);
        if (this.recentNonIds.length > RECENT_NON_NOTIFICATIONS) this.recentNonIds.shift();
      }
      pending.options.onDone?.(sent ? "sent" : "failed");
      return;
    }
    this.lastConAt = now;
    this.inFlight = pending;
    const sent = this.registry.transport.send(
      this,
      message,
      true,
      () => {
        this.inFlight = undefined;
        pending.options.onDone?.("acknowledged");
        const next = this.queue.shift();
        if (next && this.draining) this.transmit(next);
      },
      (reason) => {
        this.inFlight = undefined;
        pending.options.onDone?.(reason === "reset" ? "reset" : "timeout");
        // RFC 7641 §4.5: a RST or an unacknowledged CON notification ends the observation.
        this.stop(reason);
      },
    );
    if (!sent) {
      // Not sent at all (no memory for the retransmission copy): the observation stays, the next one may go.
      this.inFlight = undefined;
      pending.options.onDone?.("failed");
      const next = this.queue.shift();
      if (next && this.draining) this.transmit(next);
    }
  }

  /** An RST with this message ID: true (and the observer ends) when it answers one of the recent NON notifications. */
  resetBy(messageId: number): boolean {
    if (this.recentNonIds.indexOf(messageId) < 0) return false;
    this.recentNonIds.length = 0;
    this.stop("reset");
    return true;
  }

  cancel(reason: ObserverCancelReason = "cancelled"): void {
    // After a final notification the observer has ended; its queue still drains, unless it was never released.
    if (this.active || (this.ending && this.held)) this.stop(reason);
  }

  /** Ends the observer now; queued notifications end "cancelled". */
  private stop(reason: ObserverCancelReason): void {
    const wasActive = this.active;
    this.active = false;
    this.ending = false;
    this.registry.remove(this);
    for (const pending of this.queue.splice(0)) pending.options.onDone?.("cancelled");
    if (wasActive) this.onCancel?.(reason);
  }
}

/** Peer, method and URI; a FETCH entry also compares its payload (sameTarget). */
function resourceKey(peer: Peer, request: CoapMessage): string {
  return `${peerKey(peer)} ${request.code} /${getUriPath(request).join("/")}?${getUriQuery(request).join("&")}`;
}

/**
 * Whether `request` from `peer` names the entry's observation (RFC 7641 §4.1):
 * the same client and target resource, which for FETCH includes the payload
 * (RFC 8132 §2.4), or the same token.
 */
function sameTarget(entry: ObserverEntry, peer: Peer, request: CoapMessage): boolean {
  const samePeer = peerKey(entry.peer) === peerKey(peer);
  if (samePeer && bytesEqual(entry.token, request.token)) return true;
  if (entry.resourceKey !== resourceKey(peer, request)) return false;
  return request.code !== Method.FETCH || bytesEqual(entry.requestPayload, request.payload);
}

/** The observer table of one endpoint, bounded by maxObservers. */
export class Observers {
  readonly parameters: CoapParameters;
  readonly transport: ObserverTransport;
  private readonly time: Time;
  private readonly entries = new Map<number, ObserverEntry>();
  private nextId = 1;
  private sequence: number;

  constructor(parameters: CoapParameters, time: Time, transport: ObserverTransport) {
    this.parameters = parameters;
    this.time = time;
    this.transport = transport;
    // Start high enough that a restarted server's first notifications look fresh to old clients after 128 s.
    this.sequence = 2;
  }

  get count(): number {
    return this.entries.size;
  }

  now(): number {
    return this.time.monotonicMs();
  }

  nextSequence(): number {
    const value = this.sequence;
    this.sequence = (this.sequence + 1) % OBSERVE_SEQUENCE_MODULO;
    return value;
  }

  list(): Observer[] {
    return Array.from(this.entries.values());
  }

  /** Adds an observer (held until release()), replacing the same client's entry for the same resource or token. */
  register(peer: Peer, request: CoapMessage, onCancel?: (reason: ObserverCancelReason) => void): HeldObserver | undefined {
    for (const entry of Array.from(this.entries.values())) if (sameTarget(entry, peer, request)) entry.cancel("replaced");
    if (this.entries.size >= this.parameters.maxObservers) return undefined;
    const entry = new ObserverEntry(this, this.nextId++, peer, request, this.now(), onCancel);
    this.entries.set(entry.id, entry);
    return entry;
  }

  /** GET with Observe=1: forget the client's entry for that resource or token. */
  deregister(peer: Peer, request: CoapMessage): void {
    for (const entry of Array.from(this.entries.values())) if (sameTarget(entry, peer, request)) entry.cancel("deregistered");
  }

  /** An RST from `peer` that matched no CON: it may answer a NON notification, which ends that observer. */
  receiveReset(peer: Peer, messageId: number): void {
    const key = peerKey(peer);
    for (const entry of Array.from(this.entries.values())) if (peerKey(entry.peer) === key && entry.resetBy(messageId)) return;
  }

  remove(entry: ObserverEntry): void {
    this.entries.delete(entry.id);
  }

  clear(): void {
    for (const entry of Array.from(this.entries.values())) entry.cancel("closed");
  }
}
