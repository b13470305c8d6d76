import type { Logger } from "../../hal/log.js";
import type { BufferLease, MemoryBudget } from "../../hal/memory.js";
import { randomUint16, type RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { decodeMessage, encodeMessage } from "./codec.js";
import { codeClass, EMPTY, MessageType, Method, OptionNumber, ResponseCode } from "./constants.js";
import { DedupCache } from "./dedup.js";
import { CoapError } from "./errors.js";
import { createMessage, describe, findBadCriticalOption, peerKey, setUintOption, type CoapMessage, type Peer } from "./message.js";
import { exchangeLifetimeMs, maxTransmitWaitMs, nonLifetimeMs, type CoapParameters } from "./params.js";
import { RepeatedWarning } from "./repeated-warning.js";
import type { CoapTransport } from "./transport.js";

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

export interface ConfirmableHandlers {
  readonly onAck: (ack: CoapMessage) => void;
  readonly onReset: () => void;
  readonly onTimeout: () => void;
}

/** One outgoing CON message waiting for its ACK or RST. */
export interface PendingCon extends ConfirmableHandlers {
  readonly peer: Peer;
  readonly messageId: number;
  bytes: Uint8Array;
  /** The budget block holding `bytes`, released when the message is done. */
  lease: BufferLease | undefined;
  attempts: number;
  timeoutMs: number;
  timer: TimerHandle | undefined;
}

/**
 * Where new CON and NON messages go once they passed deduplication;
 * `dedupKey` names the entry whose reply (setReply) duplicates get.
 */
export interface MessageReceiver {
  onRequest(message: CoapMessage, peer: Peer, dedupKey: string): void;
  onResponse(message: CoapMessage, peer: Peer, dedupKey: string): void;
  /** An RST that matched no outstanding CON (it may answer a NON notification). */
  onReset(messageId: number, peer: Peer): void;
}

export interface MessageLayerOptions {
  readonly transport: CoapTransport;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log: Logger | undefined;
  readonly memory: MemoryBudget | undefined;
  readonly parameters: CoapParameters;
  readonly stats: EndpointStats;
}

/**
 * The CoAP message layer (RFC 7252 §4): message IDs, CON retransmission with
 * exponential back-off (each copy held in the memory budget), ACK and RST
 * matching, deduplication with reply replay, and rejection of malformed or
 * oversize datagrams. New requests and responses go up to the receiver.
 */
export class MessageLayer {
  readonly stats: EndpointStats;
  private readonly parameters: CoapParameters;
  private readonly transport: CoapTransport;
  private readonly time: Time;
  private readonly random: RandomSource;
  private readonly log: Logger | undefined;
  private readonly memory: MemoryBudget | undefined;
  private readonly receiver: MessageReceiver;
  private readonly dedup: DedupCache;
  /** One line per flood of oversize datagrams, not one per datagram. */
  private readonly oversizeWarning: RepeatedWarning;
  private readonly pendingCons = new Map<string, PendingCon>();
  private nextMessageId: number;
  private isClosed = false;

  constructor(options: MessageLayerOptions, receiver: MessageReceiver) {
    this.parameters = options.parameters;
    this.stats = options.stats;
    this.transport = options.transport;
    this.time = options.time;
    this.random = options.random;
    this.log = options.log;
    this.memory = options.memory;
    this.receiver = receiver;
    this.dedup = new DedupCache(options.time, this.parameters.maxDedupEntries, this.parameters.maxDedupEntriesPerPeer, maxTransmitWaitMs(this.parameters));
    this.nextMessageId = randomUint16(options.random);
    this.oversizeWarning = new RepeatedWarning(options.time, (line) => this.log?.warn(line));
    this.transport.listen(
      (data, peer) => this.receive(data, peer),
      (error) => this.log?.warn(`transport error: ${error.message}`),
    );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get localPort(): number {
    return this.transport.localPort;
  }

  /** Largest message this endpoint sends: the configured limit or the transport's, whichever is smaller. */
  get maxMessageSize(): number {
    return Math.min(this.parameters.maxMessageSize, this.transport.maxDatagramSize);
  }

  get pendingCount(): number {
    return this.pendingCons.size;
  }

  get dedupCount(): number {
    return this.dedup.size;
  }

  allocateMessageId(): number {
    const id = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return id;
  }

  /** The reply replayed when the message under `dedupKey` comes again. */
  setReply(dedupKey: string, reply: Uint8Array): void {
    this.dedup.setReply(dedupKey, reply);
  }

  /** Forgets the message under `dedupKey`: it was refused before it ran, so a retransmission is simply refused again. */
  forget(dedupKey: string): void {
    this.dedup.forget(dedupKey);
  }

  transmit(bytes: Uint8Array, peer: Peer): boolean {
    try {
      this.transport.send(bytes, peer);
      this.stats.sent++;
      return true;
    } catch (error) {
      this.log?.warn(`send to ${peerKey(peer)} failed: ${(error as Error).message}`);
      return false;
    }
  }

  sendEmpty(type: MessageType, messageId: number, peer: Peer): Uint8Array {
    const bytes = encodeMessage(createMessage(type, EMPTY, messageId));
    this.transmit(bytes, peer);
    return bytes;
  }

  /**
   * Sends a CON message and retransmits it with exponential back-off until
   * ACK, RST or MAX_RETRANSMIT; throws CoapError("limit") when the memory
   * budget is exhausted.
   */
  sendConfirmable(peer: Peer, messageId: number, bytes: Uint8Array, handlers: ConfirmableHandlers): PendingCon {
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
      onAck: handlers.onAck,
      onReset: handlers.onReset,
      onTimeout: handlers.onTimeout,
    };
    this.pendingCons.set(`${peerKey(peer)}/${messageId}`, pending);
    this.transmitPending(pending);
    return pending;
  }

  /** sendConfirmable for messages nobody waits on synchronously: false (and a log line) when the budget is exhausted. */
  trySendConfirmable(peer: Peer, messageId: number, bytes: Uint8Array, handlers: ConfirmableHandlers): boolean {
    try {
      this.sendConfirmable(peer, messageId, bytes, handlers);
      return true;
    } catch (error) {
      this.log?.warn(`CON to ${peerKey(peer)} not sent: ${(error as Error).message}`);
      return false;
    }
  }

  /** Ends a CON message's life: no more retransmissions, its budget block returned. */
  abandonConfirmable(pending: PendingCon): void {
    this.time.clearTimer(pending.timer);
    pending.timer = undefined;
    this.pendingCons.delete(`${peerKey(pending.peer)}/${pending.messageId}`);
    if (pending.lease && this.memory) {
      this.memory.release(pending.lease);
      pending.lease = undefined;
    }
  }

  /** Stops all retransmissions, forgets the deduplication table and releases the transport. */
  close(): void {
    if (this.isClosed) return;
    for (const pending of Array.from(this.pendingCons.values())) this.abandonConfirmable(pending);
    this.dedup.clear();
    this.oversizeWarning.close();
    this.isClosed = true;
    this.transport.close();
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

  private randomFraction(): number {
    return randomUint16(this.random) / 65536;
  }

  // ---------------------------------------------------------------- receive path

  private receive(data: Uint8Array, peer: Peer): void {
    if (this.isClosed) return;
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
    this.oversizeWarning.report(`rejected a ${length}-byte message from ${peerKey(peer)} (limit ${this.parameters.maxMessageSize})`);
    if (message.type !== MessageType.Confirmable) return;
    if (codeClass(message.code) === 0 && message.code !== EMPTY) {
      const response = createMessage(MessageType.Acknowledgement, ResponseCode.RequestEntityTooLarge, message.messageId, message.token.slice());
      setUintOption(response, OptionNumber.Size1, this.parameters.maxMessageSize);
      this.transmit(encodeMessage(response), peer);
    } else {
      this.sendEmpty(MessageType.Reset, message.messageId, peer);
    }
  }

  private receiveAckOrReset(message: CoapMessage, peer: Peer): void {
    const key = `${peerKey(peer)}/${message.messageId}`;
    const pending = this.pendingCons.get(key);
    if (!pending) {
      // Late or unknown: ignored (RFC 7252 §4.2), but an RST may answer a NON message the receiver remembers.
      if (message.type === MessageType.Reset) this.receiver.onReset(message.messageId, peer);
      return;
    }
    if (message.type === MessageType.Reset) {
      this.abandonConfirmable(pending);
      pending.onReset();
      return;
    }
    if (message.code !== EMPTY && codeClass(message.code) === 0) return; // an ACK cannot carry a request
    if (message.code !== EMPTY && findBadCriticalOption(message) !== undefined) {
      // A piggybacked response we cannot understand: reject it; the exchange keeps waiting and times out.
      this.stats.rejected++;
      return;
    }
    if (message.code !== EMPTY && !sameToken(pending.bytes, message.token)) {
      // RFC 7252 §5.3.2: a response must carry the request's token; this one answers something else. Ignore it; the CON keeps waiting.
      this.stats.rejected++;
      this.log?.debug(`ACK ${message.messageId} from ${peerKey(peer)} carries another token: ignored`);
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
    const sender = peerKey(peer);
    const dedupKey = `${sender}/${message.messageId}/${message.type}`;
    const seen = this.dedup.lookup(dedupKey);
    if (seen) {
      this.stats.duplicates++;
      if (seen.reply) this.transmit(seen.reply, peer);
      return;
    }
    const lifetime = confirmable ? exchangeLifetimeMs(this.parameters) : nonLifetimeMs(this.parameters);
    const idempotent = kind !== 0 || message.code === Method.GET || message.code === Method.PUT || message.code === Method.DELETE || message.code === Method.FETCH || message.code === Method.IPATCH;
    if (this.dedup.remember(dedupKey, sender, lifetime, idempotent) === "refused") {
      // Every entry (of the table or of this peer's share) is live: refuse rather than risk executing a request twice.
      this.stats.rejected++;
      if (confirmable && kind === 0) {
        const busy = createMessage(MessageType.Acknowledgement, ResponseCode.ServiceUnavailable, message.messageId, message.token.slice());
        setUintOption(busy, OptionNumber.MaxAge, Math.ceil(exchangeLifetimeMs(this.parameters) / 1000));
        this.transmit(encodeMessage(busy), peer);
      }
      return;
    }
    if (kind === 0) this.receiver.onRequest(message, peer, dedupKey);
    else this.receiver.onResponse(message, peer, dedupKey);
  }
}

/** Is `token` the token of the encoded message `bytes` (header byte 0 holds its length, the token follows the 4-byte header)? */
function sameToken(bytes: Uint8Array, token: Uint8Array): boolean {
  const length = bytes[0]! & 0x0f;
  if (length !== token.length) return false;
  for (let i = 0; i < length; i++) if (bytes[4 + i] !== token[i]) return false;
  return true;
}
