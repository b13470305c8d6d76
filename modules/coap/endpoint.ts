import type { Logger } from "../../hal/log.js";
import type { BufferLease, MemoryBudget } from "../../hal/memory.js";
import { randomUint16, type RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { decodeBlock, encodeBlock, type BlockOption } from "./block.js";
import { BlockTransfers } from "./block-transfers.js";
import { decodeMessage, encodeMessage, encodedSize } from "./codec.js";
import { codeClass, codeString, EMPTY, isCriticalOption, KNOWN_OPTIONS, MessageType, Method, METHOD_NAMES, OptionNumber, ResponseCode, TYPE_NAMES } from "./constants.js";
import { DedupCache } from "./dedup.js";
import { CoapError } from "./errors.js";
import {
  addOption,
  addUriQuery,
  bytesEqual,
  createMessage,
  emptyBytes,
  encodeUint,
  getOption,
  getUintOption,
  getUriPath,
  getUriQuery,
  peerKey,
  setUintOption,
  setUriPath,
  toHex,
  type CoapMessage,
  type CoapOption,
  type Peer,
} from "./message.js";
import { Observers, type Observer, type ObserverCancelReason } from "./observers.js";
import { exchangeLifetimeMs, maxTransmitWaitMs, nonLifetimeMs, resolveParameters, type CoapParameters } from "./params.js";
import { applyResponse, type OutgoingResponse } from "./response.js";
import type { CoapTransport } from "./transport.js";

export type { OutgoingResponse } from "./response.js";

export interface CoapEndpointOptions {
  readonly transport: CoapTransport;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  readonly parameters?: Partial<CoapParameters>;
  /**
   * The memory budget that holds each CON message while it may be
   * retransmitted; when it is exhausted the request fails with "limit"
   * instead of growing the heap. Without one, plain heap copies are kept.
   */
  readonly memory?: MemoryBudget;
}

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

export interface IncomingRequest {
  readonly message: CoapMessage;
  readonly peer: Peer;
  readonly method: number;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly payload: Uint8Array;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  /** 0 = register, 1 = deregister, undefined = no Observe option. */
  readonly observe: number | undefined;
}

export interface ServerExchange {
  readonly request: IncomingRequest;
  /** Sends the response: piggybacked if in time, otherwise as a separate response. Call once. */
  respond(response: OutgoingResponse): void;
  /**
   * Accepts an Observe registration carried by this GET. Call before respond()
   * with a 2.xx code; returns the observer, or undefined when this request is
   * not a registration or the observer table is full.
   */
  acceptObserve(onCancel?: (reason: ObserverCancelReason) => void): Observer | undefined;
}

export type RequestHandler = (exchange: ServerExchange) => void;

export interface EndpointStats {
  sent: number;
  received: number;
  retransmissions: number;
  duplicates: number;
  malformed: number;
  rejected: number;
  timeouts: number;
  /** Faults caught while handling a message (a handler that threw); should stay 0. */
  internalErrors: number;
}

/** One outgoing CON message waiting for its ACK or RST. */
interface PendingCon {
  readonly peer: Peer;
  readonly messageId: number;
  bytes: Uint8Array;
  /** The budget block holding `bytes`, released when the message is done. */
  lease: BufferLease | undefined;
  attempts: number;
  timeoutMs: number;
  timer: TimerHandle | undefined;
  readonly onAck: (ack: CoapMessage) => void;
  readonly onReset: () => void;
  readonly onTimeout: () => void;
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

const TOKEN_BYTES = 4;

/**
 * A CoAP endpoint (RFC 7252) acting as client and server over one transport:
 * reliability (CON retransmission with exponential back-off, deduplication
 * with reply replay), NSTART per peer with a bounded queue, piggybacked and
 * separate responses, observe (RFC 7641) on both sides, and block-wise
 * transfers (RFC 7959) on the server side; client block-wise transfers are in
 * blockwise-client.ts.
 */
export class CoapEndpoint {
  readonly parameters: CoapParameters;
  readonly stats: EndpointStats = { sent: 0, received: 0, retransmissions: 0, duplicates: 0, malformed: 0, rejected: 0, timeouts: 0, internalErrors: 0 };
  private readonly transport: CoapTransport;
  private readonly time: Time;
  private readonly random: RandomSource;
  private readonly log: Logger | undefined;
  private readonly dedup: DedupCache;
  private readonly pendingCons = new Map<string, PendingCon>();
  private readonly exchangesByToken = new Map<string, ClientExchange>();
  private readonly peers = new Map<string, PeerState>();
  private readonly observers: Observers;
  private readonly blocks: BlockTransfers;
  private readonly memory: MemoryBudget | undefined;
  private handler: RequestHandler | undefined;
  private nextMessageId: number;
  private exchangeCount = 0;
  private closed = false;

  constructor(options: CoapEndpointOptions) {
    this.parameters = resolveParameters(options.parameters);
    this.transport = options.transport;
    this.time = options.time;
    this.random = options.random;
    this.log = options.log;
    this.memory = options.memory;
    this.dedup = new DedupCache(options.time, this.parameters.maxDedupEntries, maxTransmitWaitMs(this.parameters));
    this.nextMessageId = randomUint16(options.random);
    this.observers = new Observers(this.parameters, options.time, {
      send: (observer, message, confirmable, onAck, onFailure) => this.sendNotification(observer.peer, message, confirmable, onAck, onFailure),
      nextMessageId: () => this.allocateMessageId(),
    });
    this.blocks = new BlockTransfers(this.parameters, options.time);
    this.transport.listen(
      (data, peer) => this.receive(data, peer),
      (error) => this.log?.warn(`transport error: ${error.message}`),
    );
  }

  get localPort(): number {
    return this.transport.localPort;
  }

  /** Largest message this endpoint sends: the configured limit or the transport's, whichever is smaller. */
  get maxMessageSize(): number {
    return Math.min(this.parameters.maxMessageSize, this.transport.maxDatagramSize);
  }

  /** Installs the request handler (the server side). */
  setHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  /** Numbers of the live client exchanges, observers, deduplication entries and block transfers (tests and benchmarks check them). */
  get load(): { exchanges: number; pendingCons: number; observers: number; dedup: number; blockTransfers: number } {
    return { exchanges: this.exchangeCount, pendingCons: this.pendingCons.size, observers: this.observers.count, dedup: this.dedup.size, blockTransfers: this.blocks.count };
  }

  /** Observers currently registered (server side). */
  listObservers(): Observer[] {
    return this.observers.list();
  }

  // ---------------------------------------------------------------- client

  /** Sends a request; `callback` gets exactly one outcome (an error or the response). */
  request(options: RequestOptions, callback: ResponseCallback): RequestHandle {
    const exchange = this.createExchange(options, callback, false);
    return { token: exchange.token, cancel: () => this.finish(exchange, new CoapError("cancelled", "cancelled locally")) };
  }

  /** Promise form of request(). */
  requestAsync(options: RequestOptions): Promise<CoapMessage> {
    return new Promise((resolve, reject) => {
      this.request(options, (error, response) => (error ? reject(error) : resolve(response!)));
    });
  }

  /**
   * Registers an observation (GET with Observe=0). `onNotification` gets the
   * first response and every fresh notification; it gets an error once when
   * the observation ends other than by cancel().
   */
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
          this.time.setTimer(exchangeLifetimeMs(this.parameters), () => {
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

  private createExchange(options: RequestOptions, callback: ResponseCallback, observe: boolean): ClientExchange {
    const token = options.token ?? this.newToken();
    const message = createMessage(options.confirmable === false ? MessageType.NonConfirmable : MessageType.Confirmable, options.method, 0, token);
    if (options.path) setUriPath(message, options.path);
    for (const query of options.query ?? []) addUriQuery(message, query);
    if (options.contentFormat !== undefined) setUintOption(message, OptionNumber.ContentFormat, options.contentFormat);
    if (options.accept !== undefined) setUintOption(message, OptionNumber.Accept, options.accept);
    for (const option of options.options ?? []) addOption(message, option.number, option.value);
    if (observe && getOption(message, OptionNumber.Observe) === undefined) addOption(message, OptionNumber.Observe, emptyBytes());
    if (options.payload) message.payload = options.payload;
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
    if (this.closed) return fail(new CoapError("cancelled", "endpoint closed"));
    if (encodedSize(message) > this.maxMessageSize) {
      return fail(new CoapError("too-large", `request of ${encodedSize(message)} bytes exceeds ${this.maxMessageSize}; use a block-wise transfer`));
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
    message.messageId = this.allocateMessageId();
    const bytes = encodeMessage(message);
    this.log?.debug(`→ ${describe(message)} to ${exchange.key}`);
    if (message.type === MessageType.Confirmable) {
      try {
        exchange.pending = this.startConfirmable(exchange, bytes);
      } catch (error) {
        this.finish(exchange, error instanceof CoapError ? error : new CoapError("limit", String(error)));
      }
    } else {
      if (!this.transmit(bytes, exchange.peer)) {
        this.finish(exchange, new CoapError("transport", `could not send to ${exchange.key}`));
        return;
      }
      this.armResponseTimer(exchange);
    }
  }

  /** Sends an exchange's CON request; throws CoapError("limit") when the memory budget is exhausted. */
  private startConfirmable(exchange: ClientExchange, bytes: Uint8Array): PendingCon {
    const message = exchange.message;
    return this.sendConfirmable(exchange.peer, message.messageId, bytes, {
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
        this.stats.timeouts++;
        this.finish(exchange, new CoapError("timeout", `no answer from ${exchange.key} to ${describe(message)} after ${this.parameters.maxRetransmit} retransmissions`));
      },
    });
  }

  private armResponseTimer(exchange: ClientExchange): void {
    this.time.clearTimer(exchange.responseTimer);
    exchange.responseTimer = this.time.setTimer(this.parameters.responseTimeoutMs, () => {
      exchange.responseTimer = undefined;
      this.stats.timeouts++;
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
    if (exchange.pending) this.abandonConfirmable(exchange.pending);
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

  private allocateMessageId(): number {
    const id = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return id;
  }

  // ---------------------------------------------------------------- reliability

  /** Sends a CON message and retransmits it with exponential back-off until ACK, RST or MAX_RETRANSMIT. */
  private sendConfirmable(
    peer: Peer,
    messageId: number,
    bytes: Uint8Array,
    handlers: { onAck: (ack: CoapMessage) => void; onReset: () => void; onTimeout: () => void },
  ): PendingCon {
    const p = this.parameters;
    let lease: BufferLease | undefined;
    if (this.memory) {
      try {
        lease = this.memory.allocate(bytes.length, "coap retransmission");
      } catch (error) {
        throw new CoapError("limit", (error as Error).message);
      }
      lease.bytes.set(bytes);
    }
    const pending: PendingCon = {
      peer,
      messageId,
      bytes: lease ? lease.bytes : bytes,
      lease,
      attempts: 0,
      timeoutMs: p.ackTimeoutMs * (1 + this.randomFraction() * (p.ackRandomFactor - 1)),
      timer: undefined,
      ...handlers,
    };
    this.pendingCons.set(`${peerKey(peer)}/${messageId}`, pending);
    this.transmitPending(pending);
    return pending;
  }

  private transmitPending(pending: PendingCon): void {
    if (pending.attempts > 0) this.stats.retransmissions++;
    this.transmit(pending.bytes, pending.peer);
    pending.timer = this.time.setTimer(pending.timeoutMs, () => {
      pending.timer = undefined;
      if (pending.attempts >= this.parameters.maxRetransmit) {
        this.abandonConfirmable(pending);
        pending.onTimeout();
        return;
      }
      pending.attempts++;
      pending.timeoutMs *= 2;
      this.transmitPending(pending);
    });
  }

  /** Ends a CON message's life: no more retransmissions, its budget block returned. */
  private abandonConfirmable(pending: PendingCon): void {
    this.time.clearTimer(pending.timer);
    pending.timer = undefined;
    this.pendingCons.delete(`${peerKey(pending.peer)}/${pending.messageId}`);
    if (pending.lease && this.memory) {
      this.memory.release(pending.lease);
      pending.lease = undefined;
    }
  }

  private randomFraction(): number {
    return randomUint16(this.random) / 65536;
  }

  private transmit(bytes: Uint8Array, peer: Peer): boolean {
    try {
      this.transport.send(bytes, peer);
      this.stats.sent++;
      return true;
    } catch (error) {
      this.log?.warn(`send to ${peerKey(peer)} failed: ${(error as Error).message}`);
      return false;
    }
  }

  private sendEmpty(type: MessageType, messageId: number, peer: Peer): Uint8Array {
    const bytes = encodeMessage(createMessage(type, EMPTY, messageId));
    this.transmit(bytes, peer);
    return bytes;
  }

  // ---------------------------------------------------------------- receive path

  private receive(data: Uint8Array, peer: Peer): void {
    if (this.closed) return;
    this.stats.received++;
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      this.stats.malformed++;
      this.log?.debug(`malformed datagram from ${peerKey(peer)}: ${decoded.reason}`);
      // RFC 7252 §4.2/4.3: a malformed CON is rejected with RST; anything else is ignored silently.
      if (decoded.type === MessageType.Confirmable && decoded.messageId !== undefined) this.sendEmpty(MessageType.Reset, decoded.messageId, peer);
      return;
    }
    const message = decoded.message;
    this.log?.trace(`← ${describe(message)} from ${peerKey(peer)}`);
    try {
      if (data.length > this.parameters.maxMessageSize) {
        this.rejectOversize(message, peer, data.length);
        return;
      }
      switch (message.type) {
        case MessageType.Acknowledgement:
        case MessageType.Reset:
          this.receiveAckOrReset(message, peer);
          return;
        default:
          this.receiveConOrNon(message, peer);
      }
    } catch (error) {
      // A fault in a handler or a bug must not take the endpoint down.
      this.stats.internalErrors++;
      this.log?.error(`failed handling ${describe(message)} from ${peerKey(peer)}: ${(error as Error).message}`);
    }
  }

  private rejectOversize(message: CoapMessage, peer: Peer, length: number): void {
    this.stats.rejected++;
    if (message.type !== MessageType.Confirmable) return;
    if (codeClass(message.code) === 0 && message.code !== EMPTY) {
      const response = createMessage(MessageType.Acknowledgement, ResponseCode.RequestEntityTooLarge, message.messageId, message.token.slice());
      setUintOption(response, OptionNumber.Size1, this.parameters.maxMessageSize);
      this.transmit(encodeMessage(response), peer);
    } else {
      this.sendEmpty(MessageType.Reset, message.messageId, peer);
    }
    this.log?.warn(`rejected a ${length}-byte message from ${peerKey(peer)} (limit ${this.parameters.maxMessageSize})`);
  }

  private receiveAckOrReset(message: CoapMessage, peer: Peer): void {
    const key = `${peerKey(peer)}/${message.messageId}`;
    const pending = this.pendingCons.get(key);
    if (!pending) return; // late or unknown: ignore (RFC 7252 §4.2)
    if (message.type === MessageType.Reset) {
      this.abandonConfirmable(pending);
      pending.onReset();
      return;
    }
    if (message.code !== EMPTY && codeClass(message.code) === 0) return; // an ACK cannot carry a request
    if (message.code !== EMPTY && this.hasUnknownCriticalOption(message)) {
      // A piggybacked response we cannot understand: reject it; the exchange keeps waiting and times out.
      this.stats.rejected++;
      return;
    }
    this.abandonConfirmable(pending);
    pending.onAck(message);
  }

  private receiveConOrNon(message: CoapMessage, peer: Peer): void {
    const confirmable = message.type === MessageType.Confirmable;
    const kind = codeClass(message.code);
    if (message.code === EMPTY) {
      // CoAP ping: a CON empty message is answered with RST; NON empty is ignored.
      if (confirmable) this.sendEmpty(MessageType.Reset, message.messageId, peer);
      return;
    }
    if (kind === 1 || kind === 3 || kind >= 6) {
      this.stats.rejected++;
      if (confirmable) this.sendEmpty(MessageType.Reset, message.messageId, peer);
      return;
    }
    const dedupKey = `${peerKey(peer)}/${message.messageId}/${message.type}`;
    const seen = this.dedup.lookup(dedupKey);
    if (seen) {
      this.stats.duplicates++;
      if (seen.reply) this.transmit(seen.reply, peer);
      return;
    }
    const lifetime = confirmable ? exchangeLifetimeMs(this.parameters) : nonLifetimeMs(this.parameters);
    const idempotent = kind !== 0 || message.code === Method.GET || message.code === Method.PUT || message.code === Method.DELETE || message.code === Method.FETCH || message.code === Method.IPATCH;
    if (this.dedup.remember(dedupKey, lifetime, idempotent) === "refused") {
      // Every entry is live: refuse rather than risk executing a request twice.
      this.stats.rejected++;
      if (confirmable && kind === 0) {
        const busy = createMessage(MessageType.Acknowledgement, ResponseCode.ServiceUnavailable, message.messageId, message.token.slice());
        setUintOption(busy, OptionNumber.MaxAge, Math.ceil(exchangeLifetimeMs(this.parameters) / 1000));
        this.transmit(encodeMessage(busy), peer);
      }
      return;
    }
    if (kind === 0) this.receiveRequest(message, peer, dedupKey);
    else this.receiveResponse(message, peer, dedupKey);
  }

  private receiveResponse(message: CoapMessage, peer: Peer, dedupKey: string): void {
    const confirmable = message.type === MessageType.Confirmable;
    const exchange = this.exchangesByToken.get(`${peerKey(peer)}#${toHex(message.token)}`);
    if (!exchange || exchange.rejectNext || this.hasUnknownCriticalOption(message)) {
      if (exchange?.rejectNext) this.exchangesByToken.delete(exchange.tokenKey);
      // Unknown token (e.g. an observation we no longer want): RST makes the server forget it.
      this.dedup.setReply(dedupKey, this.sendEmpty(MessageType.Reset, message.messageId, peer));
      return;
    }
    if (confirmable) this.dedup.setReply(dedupKey, this.sendEmpty(MessageType.Acknowledgement, message.messageId, peer));
    if (exchange.pending) {
      // A separate response overtook the ACK of our request: the request was received.
      this.abandonConfirmable(exchange.pending);
      exchange.pending = undefined;
    }
    this.deliverResponse(exchange, message);
  }

  // ---------------------------------------------------------------- server side

  private receiveRequest(message: CoapMessage, peer: Peer, dedupKey: string): void {
    const confirmable = message.type === MessageType.Confirmable;
    const replyType = confirmable ? MessageType.Acknowledgement : MessageType.NonConfirmable;
    const quick = (codeValue: number, extra?: (response: CoapMessage) => void) => {
      const response = createMessage(replyType, codeValue, confirmable ? message.messageId : this.allocateMessageId(), message.token.slice());
      extra?.(response);
      const bytes = encodeMessage(response);
      this.transmit(bytes, peer);
      this.dedup.setReply(dedupKey, bytes);
    };
    const badOption = this.findBadCriticalOption(message);
    if (badOption !== undefined) {
      this.stats.rejected++;
      // RFC 7252 §5.4.1: 4.02 for a CON request; a NON request is rejected silently.
      if (confirmable) quick(ResponseCode.BadOption, (r) => (r.payload = asciiBytes(`unrecognized critical option ${badOption}`)));
      return;
    }
    if (getOption(message, OptionNumber.ProxyUri) || getOption(message, OptionNumber.ProxyScheme)) {
      quick(165); // 5.05 Proxying Not Supported
      return;
    }
    if (!METHOD_NAMES[message.code]) {
      quick(ResponseCode.MethodNotAllowed);
      return;
    }

    // Block1 (RFC 7959 §2.5): reassemble the request body before the handler sees it.
    let request = message;
    let block1: BlockOption | undefined;
    const block1Value = getOption(message, OptionNumber.Block1);
    if (block1Value !== undefined) {
      block1 = decodeBlock(block1Value);
      if (!block1) {
        quick(ResponseCode.BadOption, (r) => (r.payload = asciiBytes("bad Block1 option")));
        return;
      }
      const outcome = this.blocks.receiveBlock1(peer, message, block1);
      if (outcome.kind === "too-large") {
        quick(ResponseCode.RequestEntityTooLarge, (r) => setUintOption(r, OptionNumber.Size1, this.parameters.maxReassemblyBytes));
        return;
      }
      if (outcome.kind === "incomplete") {
        quick(ResponseCode.RequestEntityIncomplete);
        return;
      }
      if (outcome.kind === "busy") {
        quick(ResponseCode.ServiceUnavailable);
        return;
      }
      if (outcome.kind === "continue") {
        quick(ResponseCode.Continue, (r) => addOption(r, OptionNumber.Block1, encodeBlock({ num: block1!.num, more: true, szx: outcome.szx })));
        return;
      }
      request = outcome.message;
    }

    // Block2 follow-up requests are served from the cached representation.
    const block2Value = getOption(message, OptionNumber.Block2);
    const block2 = block2Value === undefined ? undefined : decodeBlock(block2Value);
    if (block2Value !== undefined && !block2) {
      quick(ResponseCode.BadOption, (r) => (r.payload = asciiBytes("bad Block2 option")));
      return;
    }
    if (block2 && block2.num > 0) {
      const cached = this.blocks.cachedRepresentation(peer, message);
      if (cached) {
        this.sendResponse(message, peer, dedupKey, cached, block2, undefined, false);
        return;
      }
    }

    if (!this.handler) {
      quick(ResponseCode.NotFound);
      return;
    }
    this.dispatch(message, request, peer, dedupKey, block1, block2);
  }

  private dispatch(original: CoapMessage, request: CoapMessage, peer: Peer, dedupKey: string, block1: BlockOption | undefined, block2: BlockOption | undefined): void {
    const confirmable = original.type === MessageType.Confirmable;
    const observeValue = getUintOption(request, OptionNumber.Observe);
    const incoming: IncomingRequest = {
      message: request,
      peer,
      method: request.code,
      path: getUriPath(request),
      query: getUriQuery(request),
      payload: request.payload,
      contentFormat: getUintOption(request, OptionNumber.ContentFormat),
      accept: getUintOption(request, OptionNumber.Accept),
      observe: observeValue,
    };
    const observable = request.code === Method.GET || request.code === Method.FETCH;
    if (observable && observeValue === 1) this.observers.deregister(peer, request);
    let responded = false;
    let acked = false;
    let observer: Observer | undefined;
    let windowTimer: TimerHandle | undefined;
    if (confirmable) {
      windowTimer = this.time.setTimer(this.parameters.piggybackWindowMs, () => {
        windowTimer = undefined;
        if (responded) return;
        acked = true;
        this.dedup.setReply(dedupKey, this.sendEmpty(MessageType.Acknowledgement, original.messageId, peer));
      });
    }
    const exchange: ServerExchange = {
      request: incoming,
      respond: (response) => {
        if (responded) throw new Error("respond() called twice for one request");
        responded = true;
        this.time.clearTimer(windowTimer);
        if (observer && codeClass(response.code) !== 2) {
          observer.cancel();
          observer = undefined;
        }
        this.sendResponse(original, peer, dedupKey, response, block2, observer, acked);
      },
      acceptObserve: (onCancel) => {
        if (responded || !observable || observeValue !== 0 || block2?.num) return undefined;
        observer = this.observers.register(peer, request, onCancel);
        return observer;
      },
    };
    try {
      this.handler!(exchange);
    } catch (error) {
      // A handler fault answers 5.00 instead of leaving the client waiting.
      this.stats.internalErrors++;
      this.log?.error(`handler failed on ${describe(request)}: ${(error as Error).message}`);
      if (!responded) exchange.respond({ code: ResponseCode.InternalServerError });
    }
  }

  /** Sends a response: piggybacked, NON, or separate CON; slices it into Block2 blocks when large. */
  private sendResponse(
    request: CoapMessage,
    peer: Peer,
    dedupKey: string,
    response: OutgoingResponse,
    requestedBlock: BlockOption | undefined,
    observer: Observer | undefined,
    alreadyAcked: boolean,
  ): void {
    const confirmable = request.type === MessageType.Confirmable;
    const separate = confirmable && alreadyAcked;
    const type = separate ? MessageType.Confirmable : confirmable ? MessageType.Acknowledgement : MessageType.NonConfirmable;
    const message = createMessage(type, response.code, type === MessageType.Acknowledgement ? request.messageId : this.allocateMessageId(), request.token.slice());
    applyResponse(message, response);
    if (observer) setUintOption(message, OptionNumber.Observe, observer.nextSequence());
    const block1Value = getOption(request, OptionNumber.Block1);
    if (block1Value !== undefined && codeClass(response.code) === 2) {
      const block1 = decodeBlock(block1Value)!;
      addOption(message, OptionNumber.Block1, encodeBlock({ num: block1.num, more: false, szx: block1.szx }));
    }
    this.blocks.applyBlock2(peer, request, message, requestedBlock, this.maxMessageSize);
    const bytes = encodeMessage(message);
    this.log?.debug(`→ ${describe(message)} to ${peerKey(peer)}`);
    if (separate) {
      this.trySendConfirmable(peer, message.messageId, bytes, {
        onAck: () => undefined,
        onReset: () => observer?.cancel("reset"),
        onTimeout: () => {
          this.stats.timeouts++;
          observer?.cancel("timeout");
        },
      });
      return;
    }
    this.transmit(bytes, peer);
    this.dedup.setReply(dedupKey, bytes);
  }

  private sendNotification(peer: Peer, message: CoapMessage, confirmable: boolean, onAck: () => void, onFailure: (reason: ObserverCancelReason) => void): boolean {
    message.type = confirmable ? MessageType.Confirmable : MessageType.NonConfirmable;
    if (encodedSize(message) > this.maxMessageSize) {
      // Notifications larger than one message carry the first block only (RFC 7959 §2.6).
      this.blocks.applyBlock2(peer, message, message, undefined, this.maxMessageSize);
    }
    const bytes = encodeMessage(message);
    this.log?.debug(`→ ${describe(message)} to ${peerKey(peer)}`);
    if (!confirmable) return this.transmit(bytes, peer);
    return this.trySendConfirmable(peer, message.messageId, bytes, {
      onAck,
      onReset: () => onFailure("reset"),
      onTimeout: () => {
        this.stats.timeouts++;
        onFailure("timeout");
      },
    });
  }

  /** sendConfirmable for messages nobody waits on synchronously: false (and a log line) when the budget is exhausted. */
  private trySendConfirmable(peer: Peer, messageId: number, bytes: Uint8Array, handlers: { onAck: (ack: CoapMessage) => void; onReset: () => void; onTimeout: () => void }): boolean {
    try {
      this.sendConfirmable(peer, messageId, bytes, handlers);
      return true;
    } catch (error) {
      this.log?.warn(`CON to ${peerKey(peer)} not sent: ${(error as Error).message}`);
      return false;
    }
  }

  private findBadCriticalOption(message: CoapMessage): number | undefined {
    let previous = -1;
    for (const option of message.options) {
      const range = KNOWN_OPTIONS[option.number];
      const repeated = option.number === previous && !isRepeatable(option.number);
      previous = option.number;
      if (range && option.value.length >= range[0] && option.value.length <= range[1] && !repeated) continue;
      if (isCriticalOption(option.number)) return option.number;
      // An unrecognized or malformed elective option is ignored (RFC 7252 §5.4.1).
    }
    return undefined;
  }

  private hasUnknownCriticalOption(message: CoapMessage): boolean {
    return this.findBadCriticalOption(message) !== undefined;
  }

  /** Stops every exchange and observation and releases the transport. */
  close(): void {
    if (this.closed) return;
    for (const exchange of Array.from(this.exchangesByToken.values())) this.finish(exchange, new CoapError("cancelled", "endpoint closed"));
    for (const peer of this.peers.values()) for (const exchange of peer.queue.slice()) this.finish(exchange, new CoapError("cancelled", "endpoint closed"));
    for (const pending of Array.from(this.pendingCons.values())) this.abandonConfirmable(pending);
    this.observers.clear();
    this.blocks.clear();
    this.dedup.clear();
    this.closed = true;
    this.transport.close();
  }
}

function isRepeatable(number: number): boolean {
  return number === OptionNumber.IfMatch || number === OptionNumber.ETag || number === OptionNumber.LocationPath || number === OptionNumber.UriPath || number === OptionNumber.UriQuery || number === OptionNumber.LocationQuery;
}

/** RFC 7641 §3.4: is notification `next` fresher than `last`? */
function isFresher(last: number, next: number, elapsedMs: number): boolean {
  return (last < next && next - last < 1 << 23) || (last > next && last - next > 1 << 23) || elapsedMs > 128000;
}

function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0x7f;
  return bytes;
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

/** "CON GET MID=1234 token=ab12cd34 /3/0" for logs. */
export function describe(message: CoapMessage): string {
  const what = message.code === EMPTY ? "empty" : codeClass(message.code) === 0 ? (METHOD_NAMES[message.code] ?? codeString(message.code)) : codeString(message.code);
  const path = codeClass(message.code) === 0 && message.code !== EMPTY ? ` /${getUriPath(message).join("/")}` : "";
  const size = message.payload.length ? ` ${message.payload.length}B` : "";
  return `${TYPE_NAMES[message.type]} ${what} MID=${message.messageId}${message.token.length ? ` token=${toHex(message.token)}` : ""}${path}${size}`;
}
