import type { Logger } from "../../hal/log.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { encodeMessage, encodedSize } from "./codec.js";
import { codeClass, EMPTY, MessageType, Method, OptionNumber } from "./constants.js";
import { CoapError } from "./errors.js";
import {
  addOption,
  addUriQuery,
  bytesEqual,
  createMessage,
  describe,
  emptyBytes,
  encodeUint,
  findBadCriticalOption,
  getOption,
  getUintOption,
  peerKey,
  setUintOption,
  setUriPath,
  toHex,
  type CoapMessage,
  type CoapOption,
  type Peer,
} from "./message.js";
import type { MessageLayer, PendingCon } from "./message-layer.js";
import { exchangeLifetimeMs, type CoapParameters } from "./params.js";

export interface RequestOptions {
  readonly peer: Peer;
  readonly method: number;
  /** "/a/b" → Uri-Path options. */
  readonly path?: string;
  readonly query?: readonly string[];
  readonly payload?: Uint8Array;
  readonly contentFormat?: number;
  readonly accept?: number;
  /** CON (default) or NON. */
  readonly confirmable?: boolean;
  /** Further options (ETag, Block1, Block2, ...). */
  readonly options?: readonly CoapOption[];
  /** Reuse a token (an observe cancellation must use the registration's token). */
  readonly token?: Uint8Array;
  /** Called when the peer acknowledged a CON request (empty ACK or piggybacked response), before the outcome. */
  readonly onAcknowledged?: () => void;
}

export type ResponseCallback = (error: CoapError | undefined, response?: CoapMessage) => void;

export interface RequestHandle {
  readonly token: Uint8Array;
  /** Stops the exchange; its callback gets a "cancelled" error unless it already ended. */
  cancel(): void;
}

export interface ObserveHandle extends RequestHandle {
  /** Ends the observation without calling back; proactive (default) sends GET with Observe=1, otherwise the next notification gets RST. */
  cancel(proactive?: boolean): void;
}

interface ClientExchange {
  readonly peer: Peer;
  readonly key: string;
  readonly token: Uint8Array;
  readonly tokenKey: string;
  readonly message: CoapMessage;
  readonly callback: ResponseCallback;
  readonly onAcknowledged: (() => void) | undefined;
  readonly observe: boolean;
  state: "queued" | "active" | "observing" | "done";
  /** Holds an NSTART slot while active. */
  holdsSlot: boolean;
  pending: PendingCon | undefined;
  responseTimer: TimerHandle | undefined;
  lastSequence: number | undefined;
  lastNotificationAt: number;
  rejectNext: boolean;
}

interface PeerState {
  active: number;
  readonly queue: ClientExchange[];
}

export const TOKEN_BYTES = 4;

/**
 * The client side of an endpoint: tokens, NSTART per peer with a bounded
 * queue, response timers, and observations (RFC 7641) with freshness checks.
 * Responses that are not piggybacked come in through receiveResponse().
 */
export class ClientExchanges {
  private readonly parameters: CoapParameters;
  private readonly time: Time;
  private readonly random: RandomSource;
  private readonly log: Logger | undefined;
  private readonly messages: MessageLayer;
  private readonly exchangesByToken = new Map<string, ClientExchange>();
  private readonly peers = new Map<string, PeerState>();
  private exchangeCount = 0;

  constructor(parameters: CoapParameters, time: Time, random: RandomSource, log: Logger | undefined, messages: MessageLayer) {
    this.parameters = parameters;
    this.time = time;
    this.random = random;
    this.log = log;
    this.messages = messages;
  }

  /** Open exchanges: active, queued and observing. */
  get count(): number {
    return this.exchangeCount;
  }

  request(options: RequestOptions, callback: ResponseCallback): RequestHandle {
    const exchange = this.createExchange(options, callback, false);
    return { token: exchange.token, cancel: () => this.finish(exchange, new CoapError("cancelled", "cancelled locally")) };
  }

  observe(options: Omit<RequestOptions, "method"> & { readonly method?: number }, onNotification: ResponseCallback): ObserveHandle {
    const method = options.method ?? Method.GET; // FETCH for LwM2M Observe-Composite
    const exchange = this.createExchange({ ...options, method }, onNotification, true);
    return {
      token: exchange.token,
      cancel: (proactive = true) => {
        if (exchange.state === "done") return;
        const queued = exchange.state === "queued";
        this.finish(exchange, undefined, undefined, true);
        if (!proactive) {
          // Keep the token known for a while so the next notification is answered with RST.
          exchange.rejectNext = true;
          this.exchangesByToken.set(exchange.tokenKey, exchange);
          exchange.responseTimer = this.time.setTimer(exchangeLifetimeMs(this.parameters), () => {
            exchange.responseTimer = undefined;
            if (this.exchangesByToken.get(exchange.tokenKey) === exchange) this.exchangesByToken.delete(exchange.tokenKey);
          });
          return;
        }
        if (queued) return;
        const deregister = { ...options, method, token: exchange.token, options: [...(options.options ?? []), { number: OptionNumber.Observe, value: encodeUint(1) }] };
        this.request(deregister, () => undefined);
      },
    };
  }

  /** A separate response or a notification (CON or NON) from the message layer. */
  receiveResponse(message: CoapMessage, peer: Peer, dedupKey: string): void {
    const confirmable = message.type === MessageType.Confirmable;
    const exchange = this.exchangesByToken.get(`${peerKey(peer)}#${toHex(message.token)}`);
    if (!exchange || exchange.rejectNext || findBadCriticalOption(message) !== undefined) {
      if (exchange?.rejectNext) {
        this.time.clearTimer(exchange.responseTimer);
        exchange.responseTimer = undefined;
        this.exchangesByToken.delete(exchange.tokenKey);
      }
      // Unknown token (e.g. an observation we no longer want): RST makes the server forget it.
      this.messages.setReply(dedupKey, this.messages.sendEmpty(MessageType.Reset, message.messageId, peer));
      return;
    }
    if (confirmable) this.messages.setReply(dedupKey, this.messages.sendEmpty(MessageType.Acknowledgement, message.messageId, peer));
    if (exchange.pending) {
      // A separate response overtook the ACK of our request: the request was received.
      this.messages.abandonConfirmable(exchange.pending);
      exchange.pending = undefined;
    }
    this.deliverResponse(exchange, message);
  }

  /** Ends every exchange with a "cancelled" error. */
  close(): void {
    for (const exchange of Array.from(this.exchangesByToken.values())) {
      // A reactively cancelled observation only waits to answer its next notification with RST.
      if (exchange.rejectNext) {
        this.time.clearTimer(exchange.responseTimer);
        exchange.responseTimer = undefined;
        this.exchangesByToken.delete(exchange.tokenKey);
      } else this.finish(exchange, new CoapError("cancelled", "endpoint closed"));
    }
    for (const peer of this.peers.values()) for (const exchange of peer.queue.slice()) this.finish(exchange, new CoapError("cancelled", "endpoint closed"));
  }

  private createExchange(options: RequestOptions, callback: ResponseCallback, observe: boolean): ClientExchange {
    const token = options.token ?? this.newToken();
    const message = buildRequest(options, token);
    if (observe && getOption(message, OptionNumber.Observe) === undefined) addOption(message, OptionNumber.Observe, emptyBytes());
    const key = peerKey(options.peer);
    const exchange: ClientExchange = {
      peer: options.peer,
      key,
      token,
      tokenKey: `${key}#${toHex(token)}`,
      message,
      callback,
      onAcknowledged: options.onAcknowledged,
      observe,
      state: "queued",
      holdsSlot: false,
      pending: undefined,
      responseTimer: undefined,
      lastSequence: undefined,
      lastNotificationAt: 0,
      rejectNext: false,
    };
    const fail = (error: CoapError) => {
      exchange.state = "done";
      this.time.setTimer(0, () => callback(error));
      return exchange;
    };
    if (this.messages.closed) return fail(new CoapError("cancelled", "endpoint closed"));
    const limit = this.messages.maxMessageSize;
    if (encodedSize(message) > limit) {
      return fail(new CoapError("too-large", `request of ${encodedSize(message)} bytes exceeds ${limit}; use a block-wise transfer`));
    }
    if (this.exchangeCount >= this.parameters.maxExchanges) return fail(new CoapError("limit", `${this.parameters.maxExchanges} exchanges already open`));
    const peer = this.peerState(key);
    if (peer.active >= this.parameters.nstart && peer.queue.length >= this.parameters.maxQueuedPerPeer) {
      return fail(new CoapError("limit", `${this.parameters.maxQueuedPerPeer} requests already queued for ${key}`));
    }
    this.exchangeCount++;
    this.exchangesByToken.set(exchange.tokenKey, exchange);
    peer.queue.push(exchange);
    this.pump(key);
    return exchange;
  }

  private peerState(key: string): PeerState {
    let state = this.peers.get(key);
    if (!state) {
      state = { active: 0, queue: [] };
      this.peers.set(key, state);
    }
    return state;
  }

  /** Starts queued exchanges while the peer has NSTART slots free. */
  private pump(key: string): void {
    const peer = this.peers.get(key);
    if (!peer) return;
    while (peer.active < this.parameters.nstart && peer.queue.length > 0) {
      const exchange = peer.queue.shift()!;
      peer.active++;
      exchange.holdsSlot = true;
      exchange.state = "active";
      this.start(exchange);
    }
    if (peer.active === 0 && peer.queue.length === 0) this.peers.delete(key);
  }

  private start(exchange: ClientExchange): void {
    const message = exchange.message;
    message.messageId = this.messages.allocateMessageId();
    const bytes = encodeMessage(message);
    this.log?.debug(`→ ${describe(message)} to ${exchange.key}`);
    if (message.type === MessageType.Confirmable) {
      try {
        exchange.pending = this.startConfirmable(exchange, bytes);
      } catch (error) {
        this.finish(exchange, error instanceof CoapError ? error : new CoapError("limit", String(error)));
      }
    } else {
      if (!this.messages.transmit(bytes, exchange.peer)) {
        this.finish(exchange, new CoapError("transport", `could not send to ${exchange.key}`));
        return;
      }
      this.armResponseTimer(exchange);
    }
  }

  /** Sends an exchange's CON request; throws CoapError("limit") when the memory budget is exhausted. */
  private startConfirmable(exchange: ClientExchange, bytes: Uint8Array): PendingCon {
    const message = exchange.message;
    return this.messages.sendConfirmable(exchange.peer, message.messageId, bytes, {
      onAck: (ack) => {
        exchange.pending = undefined;
        exchange.onAcknowledged?.();
        if (ack.code === EMPTY) {
          this.armResponseTimer(exchange);
          return;
        }
        this.deliverResponse(exchange, ack);
      },
      onReset: () => {
        exchange.pending = undefined;
        this.finish(exchange, new CoapError("reset", `${exchange.key} answered ${describe(message)} with RST`));
      },
      onTimeout: () => {
        exchange.pending = undefined;
        this.messages.stats.timeouts++;
        this.finish(exchange, new CoapError("timeout", `no answer from ${exchange.key} to ${describe(message)} after ${this.parameters.maxRetransmit} retransmissions`));
      },
    });
  }

  private armResponseTimer(exchange: ClientExchange): void {
    this.time.clearTimer(exchange.responseTimer);
    exchange.responseTimer = this.time.setTimer(this.parameters.responseTimeoutMs, () => {
      exchange.responseTimer = undefined;
      this.messages.stats.timeouts++;
      this.finish(exchange, new CoapError("timeout", `no response from ${exchange.key} within ${this.parameters.responseTimeoutMs} ms`));
    });
  }

  /** A response (piggybacked, separate or a notification) for a client exchange. */
  private deliverResponse(exchange: ClientExchange, response: CoapMessage): void {
    if (exchange.state === "done") return;
    this.time.clearTimer(exchange.responseTimer);
    exchange.responseTimer = undefined;
    const sequence = getUintOption(response, OptionNumber.Observe);
    if (exchange.observe && sequence !== undefined && codeClass(response.code) === 2) {
      const now = this.time.monotonicMs();
      if (exchange.state === "observing" && exchange.lastSequence !== undefined && !isFresher(exchange.lastSequence, sequence, now - exchange.lastNotificationAt)) {
        this.log?.debug(`stale notification ${sequence} after ${exchange.lastSequence} ignored`);
        return;
      }
      exchange.lastSequence = sequence;
      exchange.lastNotificationAt = now;
      if (exchange.state !== "observing") {
        exchange.state = "observing";
        this.releaseSlot(exchange);
      }
      exchange.callback(undefined, copyMessage(response));
      return;
    }
    this.finish(exchange, undefined, response);
  }

  /** Ends an exchange; its callback hears the outcome unless `silent` (an observation cancelled by its owner). */
  private finish(exchange: ClientExchange, error: CoapError | undefined, response?: CoapMessage, silent = false): void {
    if (exchange.state === "done") return;
    const wasQueued = exchange.state === "queued";
    exchange.state = "done";
    this.time.clearTimer(exchange.responseTimer);
    exchange.responseTimer = undefined;
    if (exchange.pending) this.messages.abandonConfirmable(exchange.pending);
    exchange.pending = undefined;
    if (this.exchangesByToken.get(exchange.tokenKey) === exchange) this.exchangesByToken.delete(exchange.tokenKey);
    this.exchangeCount--;
    if (wasQueued) {
      const peer = this.peers.get(exchange.key);
      if (peer) {
        const index = peer.queue.indexOf(exchange);
        if (index >= 0) peer.queue.splice(index, 1);
      }
    }
    this.releaseSlot(exchange);
    if (!silent) exchange.callback(error, response ? copyMessage(response) : undefined);
  }

  private releaseSlot(exchange: ClientExchange): void {
    if (!exchange.holdsSlot) return;
    exchange.holdsSlot = false;
    const peer = this.peers.get(exchange.key);
    if (peer) peer.active--;
    this.pump(exchange.key);
  }

  private newToken(): Uint8Array {
    const token = new Uint8Array(TOKEN_BYTES);
    for (;;) {
      this.random.fill(token);
      let clash = false;
      for (const exchange of this.exchangesByToken.values()) if (bytesEqual(exchange.token, token)) clash = true;
      if (!clash) return token;
    }
  }
}

/** The request message `options` describe (message ID 0 until it is sent). */
export function buildRequest(options: RequestOptions, token: Uint8Array): CoapMessage {
  const message = createMessage(options.confirmable === false ? MessageType.NonConfirmable : MessageType.Confirmable, options.method, 0, token);
  if (options.path) setUriPath(message, options.path);
  for (const query of options.query ?? []) addUriQuery(message, query);
  if (options.contentFormat !== undefined) setUintOption(message, OptionNumber.ContentFormat, options.contentFormat);
  if (options.accept !== undefined) setUintOption(message, OptionNumber.Accept, options.accept);
  for (const option of options.options ?? []) addOption(message, option.number, option.value);
  if (options.payload) message.payload = options.payload;
  return message;
}

/** RFC 7641 §3.4: is notification `next` fresher than `last`? */
function isFresher(last: number, next: number, elapsedMs: number): boolean {
  return (last < next && next - last < 1 << 23) || (last > next && last - next > 1 << 23) || elapsedMs > 128000;
}

/** Copies a message out of a receive buffer, so callers may keep it. */
function copyMessage(message: CoapMessage): CoapMessage {
  return {
    type: message.type,
    code: message.code,
    messageId: message.messageId,
    token: message.token.slice(),
    options: message.options.map((option) => ({ number: option.number, value: option.value.slice() })),
    payload: message.payload.slice(),
  };
}
