import { crc32 } from "../../hal/common/crc32.js";
import type { Net, UdpEndpoint } from "../../hal/net.js";
import { decodeBlock, encodeBlock } from "../../modules/coap/block.js";
import { decodeMessage, encodeMessage } from "../../modules/coap/codec.js";
import { MessageType, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { addOption, createMessage, encodeUint, getOption, setUintOption, type CoapMessage } from "../../modules/coap/message.js";
import type { DownloadJob, DownloadStart } from "../../modules/fota/download.js";

/** Deterministic package bytes. */
export function image(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + (i >> 10) * 7 + seed) & 0xff;
  return bytes;
}

/** What an updater saw of one download: starts, data (as a running CRC and the offsets), the result. */
export interface Updater {
  readonly starts: DownloadStart[];
  /** Offset of each onData call. */
  readonly offsets: number[];
  /** CRC of the bytes after the last onStart, as an updater writing them at their offsets would hold them (in order only). */
  crc: number;
  /** Bytes after the last onStart. */
  bytes: number;
  /** Each onData continued where the previous one ended (or started at the onStart offset). */
  contiguous: boolean;
  result: { result: number; detail: string } | undefined;
  results: number;
  /** Makes onStart or onData at or beyond an offset return a result. */
  refuseStart: number | undefined;
  refuseAt: { offset: number; result: number } | undefined;
}

export function updater(): Updater {
  return { starts: [], offsets: [], crc: 0, bytes: 0, contiguous: true, result: undefined, results: 0, refuseStart: undefined, refuseAt: undefined };
}

/** A job whose callbacks fill `seen`. */
export function jobFor(seen: Updater, uri: string, extra: Partial<Pick<DownloadJob, "offset" | "etag" | "blockSize">> = {}): DownloadJob {
  let next = 0;
  return {
    uri,
    offset: extra.offset ?? 0,
    ...(extra.etag ? { etag: extra.etag } : {}),
    ...(extra.blockSize ? { blockSize: extra.blockSize } : {}),
    onStart: (start) => {
      seen.starts.push(start);
      if (seen.refuseStart !== undefined) return seen.refuseStart;
      next = start.offset;
      seen.crc = 0;
      seen.bytes = 0;
      seen.contiguous = true;
      return undefined;
    },
    onData: (offset, data) => {
      if (seen.refuseAt && offset >= seen.refuseAt.offset) return seen.refuseAt.result;
      seen.offsets.push(offset);
      if (offset !== next) seen.contiguous = false;
      next = offset + data.length;
      seen.crc = crc32(data, seen.crc);
      seen.bytes += data.length;
      return undefined;
    },
  };
}

export function doneInto(seen: Updater): (result: number, detail: string) => void {
  return (result, detail) => {
    seen.results++;
    seen.result = { result, detail };
  };
}

/** How a scripted server answers one Block2 request (num, szx as asked). */
export interface ScriptedReply {
  readonly code?: number;
  readonly payload?: Uint8Array;
  /** Block2 in the answer; false: none (the whole representation). */
  readonly block2?: { readonly num: number; readonly more: boolean; readonly szx: number } | false;
  readonly size2?: number;
  readonly etag?: Uint8Array;
}

export interface ScriptedServer {
  readonly port: number;
  readonly requests: CoapMessage[];
  close(): void;
}

/**
 * A CoAP server made of one UDP socket that answers each CON request
 * (piggybacked) as `answer` says, for the cases an endpoint would never
 * produce: a wrong Size2, no Block2 to a resumed request, a lost ETag.
 */
export function scriptedServer(net: Net, answer: (num: number, szx: number, request: CoapMessage) => ScriptedReply | undefined): ScriptedServer {
  const requests: CoapMessage[] = [];
  const socket: UdpEndpoint = net.openUdp({
    onDatagram: (data, from) => {
      const decoded = decodeMessage(data.slice());
      if (!decoded.ok || decoded.message.type !== MessageType.Confirmable) return;
      const request = decoded.message;
      requests.push(request);
      const block = getOption(request, OptionNumber.Block2);
      const asked = block ? decodeBlock(block)! : { num: 0, more: false, szx: 6 };
      const reply = answer(asked.num, asked.szx, request);
      if (!reply) return;
      const response = createMessage(MessageType.Acknowledgement, reply.code ?? ResponseCode.Content, request.messageId, request.token.slice());
      if (reply.etag) addOption(response, OptionNumber.ETag, reply.etag);
      if (reply.block2 !== false) addOption(response, OptionNumber.Block2, encodeBlock(reply.block2 ?? asked));
      if (reply.size2 !== undefined) setUintOption(response, OptionNumber.Size2, reply.size2);
      if (reply.payload) response.payload = reply.payload;
      socket.send(encodeMessage(response), from);
    },
  });
  return { port: socket.localPort, requests, close: () => socket.close() };
}

/** Answers block `num` of `body` in blocks of `szx` (Size2 on block 0), as a plain Block2 server would. */
export function sliceOf(body: Uint8Array, num: number, szx: number, etag?: Uint8Array, size2: number | undefined = num === 0 ? body.length : undefined): ScriptedReply {
  const size = 16 << szx;
  const start = num * size;
  const end = Math.min(start + size, body.length);
  return { payload: body.subarray(start, end), block2: { num, more: end < body.length, szx }, ...(size2 !== undefined ? { size2 } : {}), ...(etag ? { etag } : {}) };
}

export const etagA = (): Uint8Array => encodeUint(0xa1a1);
export const etagB = (): Uint8Array => encodeUint(0xb2b2);
