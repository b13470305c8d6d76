import type { Logger } from "../../hal/log.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { decodeBlock, encodeBlock, type BlockOption } from "./block.js";
import { BlockTransfers } from "./block-transfers.js";
import { Block1Streams, type Block1Info, type StreamedBlock } from "./block1-streams.js";
import { encodeMessage, encodedSize } from "./codec.js";
import { codeClass, codeString, MessageType, Method, METHOD_NAMES, OptionNumber, ResponseCode } from "./constants.js";
import {
  addOption,
  createMessage,
  describe,
  findBadCriticalOption,
  getOption,
  getUintOption,
  getUriPath,
  getUriQuery,
  peerKey,
  setUintOption,
  utf8Encode,
  type CoapMessage,
  type Peer,
} from "./message.js";
import type { MessageLayer } from "./message-layer.js";
import { Observers, type HeldObserver, type Observer, type ObserverCancelReason } from "./observers.js";
import type { CoapParameters } from "./params.js";
import { isConditional, preconditionsHold, requestConditions, type CurrentRepresentation, type RequestConditions } from "./preconditions.js";
import { RepeatedWarning } from "./repeated-warning.js";
import { applyResponse, type OutgoingResponse } from "./response.js";

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
  /** If-Match and If-None-Match (see preconditions.ts). */
  readonly conditions: RequestConditions;
  /**
   * Set on a streamed Block1 request (HandlerOptions.streamsBlock1): `payload`
   * is this block alone. Answer 2.xx to take it (a block with `more` then
   * goes out as 2.31 Continue), anything else to end the transfer.
   */
  readonly block1?: Block1Info;
}

export interface ServerExchange {
  readonly request: IncomingRequest;
  /** Sends the response: piggybacked if in time, otherwise as a separate response. Call once (respond or refuse). */
  respond(response: OutgoingResponse): void;
  /**
   * Answers a request refused before it ran (an unknown peer, 4.01): sent
   * like respond(), but not remembered for deduplication, so refused
   * requests hold no room in the table and a retransmission is simply
   * refused again. Refusals are logged, one line per burst.
   */
  refuse(response: OutgoingResponse): void;
  /**
   * Accepts an Observe registration carried by this GET. Call before respond()
   * with a 2.xx code; returns the observer, or undefined when this request is
   * not a registration or the observer table is full. Notifications sent
   * before respond() wait until the response has been transmitted; a response
   * other than 2.xx cancels them with the observer.
   */
  acceptObserve(onCancel?: (reason: ObserverCancelReason) => void): Observer | undefined;
  /**
   * Evaluates If-Match and If-None-Match against the target as the handler
   * knows it: true when the method may run; false when it must not, and
   * 4.12 Precondition Failed has been sent. Only handlers installed with
   * evaluatesPreconditions see conditional requests.
   */
  checkPreconditions(current: CurrentRepresentation): boolean;
}

export type RequestHandler = (exchange: ServerExchange) => void;

export interface HandlerOptions {
  /** The handler calls checkPreconditions(); without it conditional requests get 4.12 from the server layer. */
  readonly evaluatesPreconditions?: boolean;
  /**
   * Block1 requests for which this returns true (decide from the peer,
   * method, path and Content-Format; asked for block 0, and for any block
   * that belongs to no streamed transfer under way) are not reassembled: each
   * block reaches the handler as it arrives, with `request.block1`, in order
   * and without gaps (a gap gets 4.08, block 0 starts over), and the later
   * blocks of a transfer stay streamed. Others are reassembled up to
   * maxReassemblyBytes as before.
   */
  readonly streamsBlock1?: (message: CoapMessage, peer: Peer) => boolean;
}

/**
 * The server side of an endpoint: option checks, Block1 reassembly and Block2
 * serving, dispatch to the handler, piggybacked, separate and NON responses,
 * and the observers (RFC 7641) with their notifications.
 */
export class ServerExchanges {
  readonly observers: Observers;
  readonly blocks: BlockTransfers;
  /** Block1 transfers handed to the handler block by block. */
  readonly streams: Block1Streams;
  private readonly parameters: CoapParameters;
  private readonly time: Time;
  private readonly log: Logger | undefined;
  private readonly messages: MessageLayer;
  private handler: RequestHandler | undefined;
  private evaluatesPreconditions = false;
  private streamsBlock1: HandlerOptions["streamsBlock1"];
  /** One line per burst of refused requests (a stranger probing the port), not one per request. */
  private readonly refusalWarning: RepeatedWarning;

  constructor(parameters: CoapParameters, time: Time, log: Logger | undefined, messages: MessageLayer) {
    this.parameters = parameters;
    this.time = time;
    this.log = log;
    this.messages = messages;
    this.observers = new Observers(parameters, time, {
      send: (observer, message, confirmable, onAck, onFailure) => this.sendNotification(observer.peer, message, confirmable, onAck, onFailure),
      nextMessageId: () => messages.allocateMessageId(),
    });
    this.blocks = new BlockTransfers(parameters, time);
    this.streams = new Block1Streams(parameters, time);
    this.refusalWarning = new RepeatedWarning(time, (line) => log?.warn(line));
  }

  setHandler(handler: RequestHandler, options?: HandlerOptions): void {
    this.handler = handler;
    this.evaluatesPreconditions = options?.evaluatesPreconditions === true;
    this.streamsBlock1 = options?.streamsBlock1;
  }

  /** A new CON or NON request from the message layer. */
  receiveRequest(message: CoapMessage, peer: Peer, dedupKey: string): void {
    const confirmable = message.type === MessageType.Confirmable;
    const replyType = confirmable ? MessageType.Acknowledgement : MessageType.NonConfirmable;
    // Every quick answer but 2.31 Continue refuses the request before anything ran: it is not remembered.
    const quick = (codeValue: number, extra?: (response: CoapMessage) => void) => {
      const response = createMessage(replyType, codeValue, confirmable ? message.messageId : this.messages.allocateMessageId(), message.token.slice());
      extra?.(response);
      const bytes = encodeMessage(response);
      this.messages.transmit(bytes, peer);
      if (codeValue === ResponseCode.Continue) this.messages.setReply(dedupKey, bytes);
      else this.messages.forget(dedupKey);
    };
    const badOption = findBadCriticalOption(message);
    if (badOption !== undefined) {
      this.messages.stats.rejected++;
      // RFC 7252 §5.4.1: 4.02 for a CON request; a NON request is rejected silently.
      if (confirmable) quick(ResponseCode.BadOption, (r) => (r.payload = utf8Encode(`unrecognized critical option ${badOption}`)));
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

    // Block1 (RFC 7959 §2.5): reassemble the request body before the handler sees it, or hand it over block by block.
    let request = message;
    let block1: BlockOption | undefined;
    let streamed: StreamedBlock | undefined;
    const block1Value = getOption(message, OptionNumber.Block1);
    if (block1Value !== undefined) {
      block1 = decodeBlock(block1Value);
      if (!block1) {
        quick(ResponseCode.BadOption, (r) => (r.payload = utf8Encode("bad Block1 option")));
        return;
      }
      // Decided on block 0; later blocks of a streamed transfer stay streamed (the handler then refuses what it no longer takes).
      if (this.handler && ((block1.num > 0 && this.streams.has(peer, message)) || this.streamsBlock1?.(message, peer))) {
        const outcome = this.streams.receive(peer, message, block1);
        if (outcome.kind === "incomplete") return quick(ResponseCode.RequestEntityIncomplete);
        if (outcome.kind === "busy") return quick(ResponseCode.ServiceUnavailable);
        streamed = outcome.block;
      }
    }
    if (block1 && !streamed) {
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
      quick(ResponseCode.BadOption, (r) => (r.payload = utf8Encode("bad Block2 option")));
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
    this.dispatch(message, request, peer, dedupKey, block2, streamed);
  }

  /** Forgets every observer and block transfer. */
  close(): void {
    this.observers.clear();
    this.blocks.clear();
    this.streams.clear();
    this.refusalWarning.close();
  }

  private dispatch(original: CoapMessage, request: CoapMessage, peer: Peer, dedupKey: string, block2: BlockOption | undefined, streamed?: StreamedBlock): void {
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
      conditions: requestConditions(request),
      ...(streamed ? { block1: streamed.info } : {}),
    };
    const observable = request.code === Method.GET || request.code === Method.FETCH;
    if (observable && observeValue === 1) this.observers.deregister(peer, request);
    let responded = false;
    let acked = false;
    let observer: HeldObserver | undefined;
    let windowTimer: TimerHandle | undefined;
    if (confirmable) {
      windowTimer = this.time.setTimer(this.parameters.piggybackWindowMs, () => {
        windowTimer = undefined;
        if (responded) return;
        acked = true;
        this.messages.setReply(dedupKey, this.messages.sendEmpty(MessageType.Acknowledgement, original.messageId, peer));
      });
    }
    const exchange: ServerExchange = {
      request: incoming,
      refuse: (response) => {
        this.refusalWarning.report(`refused ${describe(request)} from ${peerKey(peer)}: ${codeString(response.code)}`);
        exchange.respond(response);
        this.messages.forget(dedupKey);
      },
      respond: (answer) => {
        if (responded) throw new Error("respond() called twice for one request");
        responded = true;
        const response = streamed ? streamed.settle(answer) : answer;
        this.time.clearTimer(windowTimer);
        if (observer && codeClass(response.code) !== 2) {
          observer.cancel();
          observer = undefined;
        }
        this.sendResponse(original, peer, dedupKey, response, block2, observer, acked);
        observer?.release();
      },
      acceptObserve: (onCancel) => {
        if (responded || !observable || observeValue !== 0 || block2?.num) return undefined;
        observer = this.observers.register(peer, request, onCancel);
        return observer;
      },
      checkPreconditions: (current) => {
        if (preconditionsHold(incoming.conditions, current)) return true;
        exchange.respond({ code: ResponseCode.PreconditionFailed });
        return false;
      },
    };
    if (!this.evaluatesPreconditions && isConditional(incoming.conditions)) {
      // The handler cannot say whether the conditions hold: refuse rather than run the method unconditionally.
      this.log?.debug(`conditional ${describe(request)} refused: the handler does not evaluate If-Match/If-None-Match`);
      exchange.respond({ code: ResponseCode.PreconditionFailed });
      return;
    }
    try {
      this.handler!(exchange);
    } catch (error) {
      // A handler fault answers 5.00 instead of leaving the client waiting.
      this.messages.stats.internalErrors++;
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
    const message = createMessage(type, response.code, type === MessageType.Acknowledgement ? request.messageId : this.messages.allocateMessageId(), request.token.slice());
    applyResponse(message, response);
    if (observer) setUintOption(message, OptionNumber.Observe, observer.nextSequence());
    const block1Value = getOption(request, OptionNumber.Block1);
    if (block1Value !== undefined && codeClass(response.code) === 2) {
      // The last block's answer echoes it; 2.31 Continue (a streamed block) asks for the next, at most in the preferred size.
      const block1 = decodeBlock(block1Value)!;
      const more = response.code === ResponseCode.Continue;
      addOption(message, OptionNumber.Block1, encodeBlock({ num: block1.num, more, szx: more ? Math.min(block1.szx, this.parameters.preferredSzx) : block1.szx }));
    }
    this.blocks.applyBlock2(peer, request, message, requestedBlock, this.messages.maxMessageSize);
    const bytes = encodeMessage(message);
    this.log?.debug(`→ ${describe(message)} to ${peerKey(peer)}`);
    if (separate) {
      this.messages.trySendConfirmable(peer, message.messageId, bytes, {
        onAck: () => undefined,
        onReset: () => observer?.cancel("reset"),
        onTimeout: () => {
          this.messages.stats.timeouts++;
          observer?.cancel("timeout");
        },
      });
      return;
    }
    this.messages.transmit(bytes, peer);
    this.messages.setReply(dedupKey, bytes);
  }

  private sendNotification(peer: Peer, message: CoapMessage, confirmable: boolean, onAck: () => void, onFailure: (reason: ObserverCancelReason) => void): boolean {
    message.type = confirmable ? MessageType.Confirmable : MessageType.NonConfirmable;
    if (encodedSize(message) > this.messages.maxMessageSize) {
      // Notifications larger than one message carry the first block only (RFC 7959 §2.6).
      this.blocks.applyBlock2(peer, message, message, undefined, this.messages.maxMessageSize);
    }
    const bytes = encodeMessage(message);
    this.log?.debug(`→ ${describe(message)} to ${peerKey(peer)}`);
    if (!confirmable) return this.messages.transmit(bytes, peer);
    return this.messages.trySendConfirmable(peer, message.messageId, bytes, {
      onAck,
      onReset: () => onFailure("reset"),
      onTimeout: () => {
        this.messages.stats.timeouts++;
        onFailure("timeout");
      },
    });
  }
}
