import { crc32 } from "../../hal/common/crc32.js";
import type { Time } from "../../hal/time.js";
import { blockSize, encodeBlock, type BlockOption } from "./block.js";
import { encodedSize } from "./codec.js";
import { Method, OptionNumber, ResponseCode } from "./constants.js";
import { addOption, bytesEqual, encodeUint, getOption, getUintOption, getUriPath, getUriQuery, peerKey, removeOption, setUintOption, type CoapMessage, type Peer } from "./message.js";
import { exchangeLifetimeMs, type CoapParameters } from "./params.js";
import type { OutgoingResponse } from "./response.js";

export type Block1Outcome =
  | { readonly kind: "continue"; readonly szx: number }
  | { readonly kind: "complete"; readonly message: CoapMessage }
  | { readonly kind: "too-large" }
  | { readonly kind: "incomplete" }
  | { readonly kind: "busy" };

interface Reassembly {
  readonly chunks: Uint8Array[];
  received: number;
  expiresAt: number;
}

interface Representation {
  readonly response: OutgoingResponse;
  /** The FETCH payload it answers: part of the cache key (RFC 8132 §2.3.2). */
  readonly requestPayload: Uint8Array;
  expiresAt: number;
}

/**
 * Server-side block-wise transfers (RFC 7959): Block1 reassembly with a hard
 * size limit, and Block2 slicing of large responses with a small cache of
 * representations so later blocks come from the same state. Both tables hold
 * at most maxBlockTransfers entries.
 */
export class BlockTransfers {
  private readonly parameters: CoapParameters;
  private readonly time: Time;
  private readonly reassemblies = new Map<string, Reassembly>();
  private readonly representations = new Map<string, Representation>();

  constructor(parameters: CoapParameters, time: Time) {
    this.parameters = parameters;
    this.time = time;
  }

  get count(): number {
    return this.reassemblies.size + this.representations.size;
  }

  receiveBlock1(peer: Peer, message: CoapMessage, block: BlockOption): Block1Outcome {
    const key = requestKey(peer, message);
    const now = this.time.monotonicMs();
    const size = blockSize(block.szx);
    const offset = block.num * size;
    const limit = this.parameters.maxReassemblyBytes;
    const announced = getUintOption(message, OptionNumber.Size1);
    if ((announced !== undefined && announced > limit) || offset + message.payload.length > limit) {
      this.reassemblies.delete(key);
      return { kind: "too-large" };
    }
    if (block.more && message.payload.length !== size) {
      this.reassemblies.delete(key);
      return { kind: "incomplete" };
    }
    let entry = this.reassemblies.get(key);
    if (entry && entry.expiresAt <= now) {
      this.reassemblies.delete(key);
      entry = undefined;
    }
    if (block.num === 0) {
      if (!entry) {
        this.expire(this.reassemblies, now);
        if (this.reassemblies.size >= this.parameters.maxBlockTransfers) return { kind: "busy" };
      }
      entry = { chunks: [], received: 0, expiresAt: 0 };
      this.reassemblies.set(key, entry);
    }
    if (!entry || offset !== entry.received) {
      this.reassemblies.delete(key);
      return { kind: "incomplete" };
    }
    entry.chunks.push(message.payload.slice());
    entry.received += message.payload.length;
    entry.expiresAt = now + exchangeLifetimeMs(this.parameters);
    if (block.more) return { kind: "continue", szx: Math.min(block.szx, this.parameters.preferredSzx) };
    this.reassemblies.delete(key);
    const body = new Uint8Array(entry.received);
    let at = 0;
    for (const chunk of entry.chunks) {
      body.set(chunk, at);
      at += chunk.length;
    }
    const complete: CoapMessage = { ...message, options: message.options.slice(), payload: body };
    return { kind: "complete", message: complete };
  }

  cachedRepresentation(peer: Peer, request: CoapMessage): OutgoingResponse | undefined {
    const key = representationKey(peer, request);
    const entry = this.representations.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.time.monotonicMs()) {
      this.representations.delete(key);
      return undefined;
    }
    return bytesEqual(entry.requestPayload, fetchPayload(request)) ? entry.response : undefined;
  }

  /**
   * Slices `message` (a response to `request`) to the requested or fitting
   * block, adding Block2, Size2 and an ETag; small responses pass unchanged
   * unless the client asked for a smaller block.
   */
  applyBlock2(peer: Peer, request: CoapMessage, message: CoapMessage, requested: BlockOption | undefined, maxMessageSize: number): void {
    const full = message.payload;
    let szx = Math.min(requested?.szx ?? this.parameters.preferredSzx, this.parameters.preferredSzx);
    const fits = encodedSize(message) <= maxMessageSize && (!requested || full.length <= blockSize(szx));
    if (fits) return;
    const overhead = encodedSize({ ...message, payload: new Uint8Array(0) }) + 1 + 4 + 4 + 6; // marker, Block2, Size2, ETag
    while (szx > 0 && blockSize(szx) + overhead > maxMessageSize) szx--;
    const size = blockSize(szx);
    const offset = requested ? requested.num * blockSize(requested.szx) : 0;
    if (offset >= full.length && full.length > 0) {
      message.code = ResponseCode.BadOption;
      message.payload = new Uint8Array(0);
      removeOption(message, OptionNumber.ContentFormat);
      return;
    }
    const num = Math.floor(offset / size);
    const start = num * size;
    const end = Math.min(start + size, full.length);
    const more = end < full.length;
    if (getOption(message, OptionNumber.ETag) === undefined) addOption(message, OptionNumber.ETag, encodeUint(crc32(full) || 1));
    const cacheable = num === 0 && more && request.code !== 0 && getUintOption(message, OptionNumber.Observe) === undefined;
    if (cacheable) this.remember(peer, request, message, full);
    message.payload = full.subarray(start, end);
    removeOption(message, OptionNumber.Block2);
    addOption(message, OptionNumber.Block2, encodeBlock({ num, more, szx }));
    // Size2 with block 0, and whenever the request asks for it (Size2 0 in the request, RFC 7959 §4).
    if (num === 0 || getOption(request, OptionNumber.Size2) !== undefined) setUintOption(message, OptionNumber.Size2, full.length);
  }

  private remember(peer: Peer, request: CoapMessage, message: CoapMessage, full: Uint8Array): void {
    const now = this.time.monotonicMs();
    this.expire(this.representations, now);
    const key = representationKey(peer, request);
    if (!this.representations.has(key) && this.representations.size >= this.parameters.maxBlockTransfers) {
      // Dropping a cached representation is harmless: the handler is asked again.
      const oldest = this.representations.keys().next().value;
      if (oldest !== undefined) this.representations.delete(oldest);
    }
    const options = message.options.filter((option) => option.number !== OptionNumber.Block2 && option.number !== OptionNumber.Size2 && option.number !== OptionNumber.Observe && option.number !== OptionNumber.ContentFormat);
    this.representations.set(key, {
      response: { code: message.code, payload: full.slice(), options, contentFormat: getUintOption(message, OptionNumber.ContentFormat) },
      requestPayload: fetchPayload(request).slice(),
      expiresAt: now + exchangeLifetimeMs(this.parameters),
    });
  }

  private expire(table: Map<string, { expiresAt: number }>, now: number): void {
    for (const [key, entry] of table) if (entry.expiresAt <= now) table.delete(key);
  }

  clear(): void {
    this.reassemblies.clear();
    this.representations.clear();
  }
}

/** Identifies a cached representation: the request key, and for FETCH a digest of the payload (compared in full on lookup). */
function representationKey(peer: Peer, request: CoapMessage): string {
  const payload = fetchPayload(request);
  return payload.length ? `${requestKey(peer, request)} ${payload.length}:${crc32(payload)}` : requestKey(peer, request);
}

function fetchPayload(request: CoapMessage): Uint8Array {
  return request.code === Method.FETCH ? request.payload : EMPTY;
}

const EMPTY = new Uint8Array(0);

/** Identifies "the same request" across blocks: peer, method, URI and Accept. */
export function requestKey(peer: Peer, request: CoapMessage): string {
  return `${peerKey(peer)} ${request.code} /${getUriPath(request).join("/")}?${getUriQuery(request).join("&")} ${getUintOption(request, OptionNumber.Accept) ?? ""}`;
}
