/**
 * Rules that span messages, checked from every datagram the server sends and
 * receives: Message-ID and token reuse (RFC 7252 §4.4, §5.3.1), matching of
 * ACK/RST and responses (§4.2, §5.2, §5.3.2), Content-Format of responses
 * (§5.10.3, §5.10.4) and Observe (RFC 7641 §3.2, §4.2, §4.4).
 */
import { codeClass, codeString, ContentFormat, MessageType, Method, METHOD_NAMES, OptionNumber } from "../../../modules/coap/constants.js";
import { bytesEqual, getUintOption, getUriPath, peerKey, toHex, type CoapMessage, type Peer } from "../../../modules/coap/message.js";
import type { Clock } from "../../../hal/time.js";
import type { Problem } from "./violations.js";

/** A request this server sent to a client, and what the client has answered so far. */
interface ServerRequest {
  readonly token: string;
  readonly description: string;
  readonly accept: number | undefined;
  /** The Observe option of the request: 0 registers, 1 deregisters. */
  readonly observe: number | undefined;
  /** A response (piggybacked or separate) has arrived. */
  answered: boolean;
  /** A CON/NON response arrived (rather than only a piggybacked one). */
  separateSeen: boolean;
  observing: boolean;
  /** The server cancelled the observation (RST or deregistration); late notifications are not counted. */
  cancelledByServer: boolean;
  lastSequence: number | undefined;
  lastNotificationAt: number;
  lastActivity: number;
}

/** A message this server sent, by peer and Message ID, to match ACK and RST. */
interface SentMessage {
  readonly type: MessageType;
  /** Key of the ServerRequest when the message is a request. */
  readonly requestKey: string | undefined;
  readonly at: number;
  /** The client's first ACK or RST to it. */
  answer: Uint8Array | undefined;
}

/** A CON or NON message a client sent, by peer and Message ID, to see MID reuse. */
interface ReceivedMessage {
  readonly bytes: Uint8Array;
  readonly token: string;
  readonly at: number;
}

/** RFC 7641 §3.4: is `next` fresher than `last`, `elapsedMs` after it? */
export function isFresher(last: number, next: number, elapsedMs: number): boolean {
  return (last < next && next - last < 1 << 23) || (last > next && last - next > 1 << 23) || elapsedMs > 128000;
}

const MAX_ENTRIES = 20000;
const CONTENT = 69; // 2.05

export class ExchangeTracker {
  private readonly lifetimeMs: number;
  private readonly clock: Clock;
  private readonly serverRequests = new Map<string, ServerRequest>();
  private readonly sent = new Map<string, SentMessage>();
  private readonly received = new Map<string, ReceivedMessage>();
  /** Requests of clients the server has not answered yet, by peer and token. */
  private readonly clientRequests = new Map<string, number>();
  private lastPrune = 0;

  /** `lifetimeMs` is EXCHANGE_LIFETIME of the server's parameters. */
  constructor(lifetimeMs: number, clock: Clock) {
    this.lifetimeMs = lifetimeMs;
    this.clock = clock;
  }

  /** A message the server sends to `peer`. */
  outbound(message: CoapMessage, peer: Peer): void {
    const now = this.clock.monotonicMs();
    this.prune(now);
    const peerId = peerKey(peer);
    const tokenKey = `${peerId}#${toHex(message.token)}`;
    const midKey = `${peerId}/${message.messageId}`;
    const kind = codeClass(message.code);
    if (message.type === MessageType.Reset) {
      const notification = this.received.get(midKey);
      const request = notification && this.serverRequests.get(`${peerId}#${notification.token}`);
      if (request) request.cancelledByServer = true;
      return;
    }
    if (kind >= 2) this.clientRequests.delete(tokenKey);
    if (message.type === MessageType.Acknowledgement) return;
    const retransmission = this.sent.has(midKey);
    const isRequest = kind === 0 && message.code !== 0;
    if (!retransmission) this.sent.set(midKey, { type: message.type, requestKey: isRequest ? tokenKey : undefined, at: now, answer: undefined });
    if (!isRequest || retransmission) return;
    const previous = this.serverRequests.get(tokenKey);
    const observe = getUintOption(message, OptionNumber.Observe);
    if (previous && observe === 1) previous.cancelledByServer = true;
    const accept = getUintOption(message, OptionNumber.Accept);
    const description = `${METHOD_NAMES[message.code] ?? codeString(message.code)} /${getUriPath(message).join("/")}${accept !== undefined ? ` (Accept ${accept})` : ""}${observe !== undefined ? ` (Observe ${observe})` : ""}`;
    this.serverRequests.set(tokenKey, {
      token: toHex(message.token),
      description,
      accept,
      observe: message.code === Method.GET || message.code === Method.FETCH ? observe : undefined,
      answered: false,
      separateSeen: false,
      observing: false,
      cancelledByServer: false,
      lastSequence: undefined,
      lastNotificationAt: now,
      lastActivity: now,
    });
  }

  /** A message a client sent; `bytes` is the datagram (for retransmission checks). */
  inbound(message: CoapMessage, bytes: Uint8Array, peer: Peer): Problem[] {
    const now = this.clock.monotonicMs();
    this.prune(now);
    const problems: Problem[] = [];
    const peerId = peerKey(peer);
    const token = toHex(message.token);
    const midKey = `${peerId}/${message.messageId}`;
    if (message.type === MessageType.Acknowledgement || message.type === MessageType.Reset) return this.answer(message, bytes, midKey, now);
    const earlier = this.received.get(midKey);
    if (earlier && now - earlier.at <= this.lifetimeMs) {
      if (bytesEqual(earlier.bytes, bytes)) return problems; // a retransmission or duplicate: checked already
      problems.push({ rule: "RFC 7252 §4.4", message: `Message ID ${message.messageId} reused for a different message within EXCHANGE_LIFETIME (${Math.round(this.lifetimeMs / 1000)} s; the first was ${Math.round((now - earlier.at) / 1000)} s ago)` });
    }
    this.received.delete(midKey);
    this.received.set(midKey, { bytes: bytes.slice(), token, at: now });
    const kind = codeClass(message.code);
    if (message.code === 0) return problems;
    if (kind === 0) {
      const tokenKey = `${peerId}#${token}`;
      const outstanding = this.clientRequests.get(tokenKey);
      if (outstanding !== undefined && now - outstanding <= this.lifetimeMs) {
        problems.push({ rule: "RFC 7252 §5.3.1", message: `token ${token || "(empty)"} reused by a new request while an earlier request with that token is still unanswered` });
      }
      this.clientRequests.delete(tokenKey);
      this.clientRequests.set(tokenKey, now);
      return problems;
    }
    const request = this.serverRequests.get(`${peerId}#${token}`);
    if (request) problems.push(...this.response(request, message, false, now));
    return problems;
  }

  /** An ACK or RST from a client. */
  private answer(message: CoapMessage, bytes: Uint8Array, midKey: string, now: number): Problem[] {
    const type = message.type === MessageType.Acknowledgement ? "ACK" : "RST";
    const sent = this.sent.get(midKey);
    if (!sent) return [{ rule: "RFC 7252 §4.2", message: `${type} with Message ID ${message.messageId} matches no message this server sent within EXCHANGE_LIFETIME` }];
    if (sent.answer) {
      if (bytesEqual(sent.answer, bytes)) return []; // the client answering a retransmission again
      return [{ rule: "RFC 7252 §4.2", message: `a second, different ${type} for Message ID ${message.messageId}` }];
    }
    sent.answer = bytes.slice();
    if (type === "ACK" && sent.type !== MessageType.Confirmable) return [{ rule: "RFC 7252 §4.3", message: `ACK for Message ID ${message.messageId}, which was a Non-confirmable message` }];
    const request = sent.requestKey === undefined ? undefined : this.serverRequests.get(sent.requestKey);
    if (!request) {
      if (message.code !== 0) return [{ rule: "RFC 7252 §5.2.2", message: `the ACK of a separate response or notification must be Empty, got ${codeString(message.code)}` }];
      return [];
    }
    if (type === "RST" || message.code === 0 || codeClass(message.code) === 0) return [];
    const token = toHex(message.token);
    if (token !== request.token) return [{ rule: "RFC 7252 §5.3.2", message: `the piggybacked response to ${request.description} has token ${token || "(empty)"}, the request had ${request.token || "(empty)"}` }];
    return this.response(request, message, true, now);
  }

  /** A response (piggybacked in an ACK, or CON/NON) to one of the server's requests. */
  private response(request: ServerRequest, message: CoapMessage, piggybacked: boolean, now: number): Problem[] {
    const problems: Problem[] = [];
    const add = (rule: string, text: string) => problems.push({ rule, message: text });
    const sequence = getUintOption(message, OptionNumber.Observe);
    const success = codeClass(message.code) === 2;
    const code = codeString(message.code);
    request.lastActivity = now;
    // Notifications of an observation the server is cancelling may still be on their way.
    if (request.observe === 1 && !piggybacked && sequence !== undefined) return problems;
    if (!request.answered) {
      request.answered = true;
      request.separateSeen = !piggybacked;
      problems.push(...this.content(request, message));
      if (request.observe === 0 && success && sequence !== undefined) {
        request.observing = true;
        request.lastSequence = sequence;
        request.lastNotificationAt = now;
      } else if (sequence !== undefined) {
        if (request.observe === 0) add("RFC 7641 §4.2", `a ${code} response to ${request.description} must not carry an Observe option: only 2.xx responses keep an observation`);
        else add("RFC 7641 §4.1", `the ${code} response to ${request.description} carries Observe ${sequence}, but the request did not register an observation`);
      }
      return problems;
    }
    if (piggybacked) {
      if (request.observe === 0 && request.separateSeen) {
        add("RFC 7641 §4.2 / RFC 7252 §5.2", `notification sent before the response to the Observe request ${request.description}: the piggybacked ${code} response${sequence !== undefined ? ` (Observe ${sequence})` : ""} came after a CON/NON message with token ${request.token}`);
      } else add("RFC 7252 §5.2", `a second response (${code}) to ${request.description}`);
      problems.push(...this.content(request, message));
      return problems;
    }
    if (request.observe !== 0) {
      if (request.observe === 1 && sequence !== undefined) return problems;
      add("RFC 7252 §5.2", `a second response (${code}) to ${request.description}`);
      return problems;
    }
    if (request.cancelledByServer) return problems;
    if (!request.observing) {
      add("RFC 7641 §3.2 / §4.2", `notification (${code}) for ${request.description}, but no observation is established for token ${request.token} (it was refused or has ended)`);
      return problems;
    }
    problems.push(...this.content(request, message));
    if (!success) {
      request.observing = false;
      if (sequence !== undefined) add("RFC 7641 §4.2", `the ${code} notification ending the observation of ${request.description} must not carry an Observe option`);
      return problems;
    }
    if (message.code !== CONTENT) add("LwM2M TS §6.4 / RFC 7641 §4.2", `a notification of ${request.description} must be 2.05 Content or an error code ending the observation, got ${code}`);
    if (sequence === undefined) {
      add("RFC 7641 §4.2", `a ${code} notification of ${request.description} must carry an Observe option`);
      return problems;
    }
    const last = request.lastSequence!;
    if (!isFresher(last, sequence, now - request.lastNotificationAt)) {
      add("RFC 7641 §4.4", `Observe ${sequence} after ${last} in notifications of ${request.description}: the values must increase (mod 2^24) between notifications less than 128 s apart`);
      return problems;
    }
    request.lastSequence = sequence;
    request.lastNotificationAt = now;
    return problems;
  }

  /** Content-Format of a response: present with a 2.xx payload, and what the request's Accept asked for. */
  private content(request: ServerRequest, message: CoapMessage): Problem[] {
    const problems: Problem[] = [];
    const format = getUintOption(message, OptionNumber.ContentFormat);
    const code = codeString(message.code);
    if (codeClass(message.code) !== 2) return problems;
    if (message.payload.length > 0 && format === undefined) {
      problems.push({ rule: "RFC 7252 §5.10.3 / LwM2M TS (Data Formats)", message: `the ${code} response to ${request.description} has a payload of ${message.payload.length} bytes but no Content-Format` });
    }
    if (message.code === CONTENT && request.accept !== undefined && format !== undefined && format !== request.accept) {
      problems.push({ rule: "RFC 7252 §5.10.4", message: `the ${code} response to ${request.description} has Content-Format ${format}${format === ContentFormat.LinkFormat ? " (link-format)" : ""}, not the ${request.accept} the request's Accept asked for` });
    }
    return problems;
  }

  /** Forgets what is older than EXCHANGE_LIFETIME (observations in progress are kept); at most once a second. */
  private prune(now: number): void {
    if (now - this.lastPrune < 1000 && this.sent.size + this.received.size + this.clientRequests.size < MAX_ENTRIES) return;
    this.lastPrune = now;
    const old = (at: number) => now - at > this.lifetimeMs;
    for (const [key, entry] of this.sent) if (old(entry.at) || this.sent.size > MAX_ENTRIES) this.sent.delete(key);
    for (const [key, entry] of this.received) if (old(entry.at) || this.received.size > MAX_ENTRIES) this.received.delete(key);
    for (const [key, at] of this.clientRequests) if (old(at) || this.clientRequests.size > MAX_ENTRIES) this.clientRequests.delete(key);
    for (const [key, request] of this.serverRequests) {
      const live = request.observing && !request.cancelledByServer;
      if ((!live && old(request.lastActivity)) || this.serverRequests.size > MAX_ENTRIES) this.serverRequests.delete(key);
    }
  }
}
