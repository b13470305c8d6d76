import { blockSize, decodeBlock, encodeBlock, MAX_SZX, szxForSize } from "./block.js";
import { buildRequest, TOKEN_BYTES } from "./client-exchanges.js";
import { encodedSize } from "./codec.js";
import { codeClass, codeString, Method, OptionNumber, ResponseCode } from "./constants.js";
import type { CoapEndpoint, RequestHandle, RequestOptions } from "./endpoint.js";
import { CoapError } from "./errors.js";
import { bytesEqual, encodeUint, getOption, getUintOption, type CoapMessage, type CoapOption } from "./message.js";

export interface DownloadInfo {
  /** ETag of the representation (from the first block received). */
  readonly etag: Uint8Array | undefined;
  /** Total size when the server sent Size2. */
  readonly size: number | undefined;
}

export interface DownloadOptions extends Omit<RequestOptions, "method" | "payload"> {
  /** First block to fetch, in blocks of `szx` (resuming a download). */
  readonly startBlock?: number;
  /** Block size exponent to ask for (default: the endpoint's preferred size). */
  readonly szx?: number;
  /** The download fails ("etag-changed") if the representation's ETag differs, or the first answer has none (resume of the same image). */
  readonly expectedEtag?: Uint8Array;
  /** Receives each block at its byte offset; returning false stops the download. */
  readonly onBlock: (offset: number, data: Uint8Array, more: boolean, info: DownloadInfo) => boolean | void;
}

/** Why a download stopped on the representation itself rather than on the exchange. */
export type DownloadStop =
  /** Its ETag is not the expected one, or changed between blocks: another representation. */
  | "etag-changed"
  /** A request from a later block was answered without Block2 (the whole representation). */
  | "not-resumable"
  /** The server answered with a code other than 2.05 (`responseCode`). */
  | "status";

/** A download that ended on what the server sent (kind "protocol"): callers may start again from 0, or map the code. */
export class DownloadError extends CoapError {
  readonly stop: DownloadStop;
  readonly responseCode: number | undefined;
  constructor(stop: DownloadStop, message: string, responseCode?: number) {
    super("protocol", message);
    this.stop = stop;
    this.responseCode = responseCode;
    Object.defineProperty(this, "name", { value: "DownloadError", writable: true, configurable: true });
  }
}

export interface DownloadResult {
  readonly bytes: number;
  readonly blocks: number;
  readonly etag: Uint8Array | undefined;
  readonly complete: boolean;
}

/**
 * A Block2 download (RFC 7959 §2.4): requests blocks one after another,
 * honours a smaller block size chosen by the server, checks that the ETag
 * stays the same, and can start at any block so an interrupted transfer
 * resumes where it stopped.
 */
export function download(endpoint: CoapEndpoint, options: DownloadOptions, done: (error: CoapError | undefined, result?: DownloadResult) => void): { cancel(): void } {
  let szx = Math.min(options.szx ?? endpoint.parameters.preferredSzx, MAX_SZX);
  let offset = (options.startBlock ?? 0) * blockSize(szx);
  let etag = options.expectedEtag;
  let size: number | undefined;
  let blocks = 0;
  let bytes = 0;
  let current: RequestHandle | undefined;
  let finished = false;
  const finish = (error: CoapError | undefined, complete = false) => {
    if (finished) return;
    finished = true;
    done(error, error ? undefined : { bytes, blocks, etag, complete });
  };
  const next = () => {
    const num = Math.floor(offset / blockSize(szx));
    const blockOption: CoapOption = { number: OptionNumber.Block2, value: encodeBlock({ num, more: false, szx }) };
    current = endpoint.request({ ...options, method: Method.GET, options: [...(options.options ?? []), blockOption] }, (error, response) => {
      current = undefined;
      if (finished) return;
      if (error) return finish(error);
      const reply = response!;
      if (reply.code !== ResponseCode.Content) return finish(new DownloadError("status", `download got ${codeString(reply.code)}`, reply.code));
      const replyEtag = getOption(reply, OptionNumber.ETag);
      if (replyEtag && etag && !bytesEqual(replyEtag, etag)) return finish(new DownloadError("etag-changed", "the resource changed during the download (ETag differs)"));
      // A resume cannot be checked against a first answer without ETag: it may be another representation.
      if (!replyEtag && blocks === 0 && options.expectedEtag) return finish(new DownloadError("etag-changed", "the server sent no ETag to compare with the expected one"));
      if (replyEtag && !etag) etag = replyEtag.slice();
      size = getUintOption(reply, OptionNumber.Size2) ?? size;
      const blockValue = getOption(reply, OptionNumber.Block2);
      if (blockValue === undefined) {
        // The server sent the whole representation at once.
        if (offset > 0) return finish(new DownloadError("not-resumable", "the server does not support resuming (no Block2)"));
        blocks++;
        bytes += reply.payload.length;
        options.onBlock(0, reply.payload, false, { etag, size });
        return finish(undefined, true);
      }
      const block = decodeBlock(blockValue);
      if (!block) return finish(new CoapError("protocol", "bad Block2 option in the response"));
      const blockOffset = block.num * blockSize(block.szx);
      if (blockOffset !== offset - (offset % blockSize(block.szx)) || (block.more && reply.payload.length !== blockSize(block.szx))) {
        return finish(new CoapError("protocol", `unexpected block ${block.num} (szx ${block.szx}) for offset ${offset}`));
      }
      szx = block.szx;
      const skip = offset - blockOffset;
      const data = reply.payload.subarray(skip);
      blocks++;
      bytes += data.length;
      offset = blockOffset + reply.payload.length;
      const keepGoing = options.onBlock(blockOffset + skip, data, block.more, { etag, size }) !== false;
      if (!block.more) return finish(undefined, true);
      if (!keepGoing) return finish(undefined, false);
      next();
    });
  };
  next();
  return {
    cancel: () => {
      current?.cancel();
      finish(new CoapError("cancelled", "download cancelled"));
    },
  };
}

/** Downloads a whole representation into memory, refusing more than `maxBytes`. */
export function fetchAll(endpoint: CoapEndpoint, options: Omit<DownloadOptions, "onBlock">, maxBytes: number): Promise<{ payload: Uint8Array; etag: Uint8Array | undefined }> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let overflow = false;
    download(
      endpoint,
      {
        ...options,
        onBlock: (_offset, data) => {
          total += data.length;
          if (total > maxBytes) {
            overflow = true;
            return false;
          }
          chunks.push(data.slice());
          return true;
        },
      },
      (error, result) => {
        if (error) return reject(error);
        if (overflow) return reject(new CoapError("too-large", `representation exceeds ${maxBytes} bytes`));
        const payload = new Uint8Array(total);
        let at = 0;
        for (const chunk of chunks) {
          payload.set(chunk, at);
          at += chunk.length;
        }
        resolve({ payload, etag: result!.etag });
      },
    );
  });
}

export interface UploadOptions extends Omit<RequestOptions, "payload"> {
  readonly payload: Uint8Array;
  readonly szx?: number;
}

type UploadCallback = (error: CoapError | undefined, response?: CoapMessage) => void;

/**
 * Bytes of a block request other than the block itself: header, token,
 * options (with the largest Block1 and the Size1 the upload adds) and the
 * payload marker.
 */
function blockRequestOverhead(options: UploadOptions): number {
  const blockOptions: CoapOption[] = [
    { number: OptionNumber.Block1, value: encodeUint(0xfffff) },
    { number: OptionNumber.Size1, value: encodeUint(options.payload.length) },
  ];
  const bare = buildRequest({ ...options, payload: undefined, options: [...(options.options ?? []), ...blockOptions] }, new Uint8Array(options.token?.length ?? TOKEN_BYTES));
  return encodedSize(bare) + 1;
}

/** Largest SZX, at most `ceiling`, whose blocks fit in `datagramBytes`; undefined when not even 16-byte blocks do. */
function fittingSzx(datagramBytes: number, overhead: number, ceiling: number): number | undefined {
  if (blockSize(0) + overhead > datagramBytes) return undefined;
  return Math.min(szxForSize(datagramBytes - overhead), ceiling);
}

/**
 * The smaller block size a 4.13 Request Entity Too Large asks for (RFC 7959
 * §2.9.3: a Block1 option names it; RFC 7252 §5.9.2.9: Size1 the largest
 * request it takes, when below the `sentBytes` it refused), or undefined
 * when it asks for none below `szx`.
 */
function szxAfterTooLarge(reply: CoapMessage, szx: number, overhead: number, sentBytes: number): number | undefined {
  const hint = getOption(reply, OptionNumber.Block1);
  const hinted = hint ? decodeBlock(hint) : undefined;
  if (hinted && hinted.szx < szx) return hinted.szx;
  const limit = getUintOption(reply, OptionNumber.Size1);
  // A Size1 above what was sent limits the whole body, not the message: smaller blocks do not help.
  if (limit === undefined || limit >= sentBytes) return undefined;
  const fitting = fittingSzx(limit, overhead, szx);
  return fitting !== undefined && fitting < szx ? fitting : undefined;
}

/**
 * A Block1 upload (RFC 7959 §2.5): sends the body in blocks, waits for 2.31
 * Continue after each, adopts a smaller block size the server asks for,
 * starts again in smaller blocks after a 4.13 that asks for them, and
 * reports the final response.
 */
export function upload(endpoint: CoapEndpoint, options: UploadOptions, done: UploadCallback): { cancel(): void } {
  const body = options.payload;
  const overhead = blockRequestOverhead(options);
  const requested = Math.min(options.szx ?? endpoint.parameters.preferredSzx, MAX_SZX);
  let szx = fittingSzx(endpoint.maxMessageSize, overhead, requested) ?? requested;
  let offset = 0;
  let current: RequestHandle | undefined;
  let finished = false;
  const finish = (error: CoapError | undefined, response?: CoapMessage) => {
    if (finished) return;
    finished = true;
    done(error, response);
  };
  const send = () => {
    const size = blockSize(szx);
    const num = Math.floor(offset / size);
    const chunk = body.subarray(offset, offset + size);
    const more = offset + chunk.length < body.length;
    const extra: CoapOption[] = [{ number: OptionNumber.Block1, value: encodeBlock({ num, more, szx }) }];
    if (num === 0) extra.push({ number: OptionNumber.Size1, value: encodeUint(body.length) });
    current = endpoint.request({ ...options, payload: chunk, options: [...(options.options ?? []), ...extra] }, (error, response) => {
      current = undefined;
      if (finished) return;
      if (error) return finish(error);
      const reply = response!;
      if (reply.code === ResponseCode.RequestEntityTooLarge) {
        // Each restart uses strictly smaller blocks, so restarts are bounded by MAX_SZX.
        const smaller = szxAfterTooLarge(reply, szx, overhead, overhead + chunk.length);
        if (smaller !== undefined) {
          szx = smaller;
          offset = 0;
          return send();
        }
        const limit = getUintOption(reply, OptionNumber.Size1);
        return finish(new CoapError("too-large", `the server accepts at most ${limit ?? "?"} bytes`), reply);
      }
      if (!more || reply.code !== ResponseCode.Continue) {
        if (more && codeClass(reply.code) === 2) return finish(new CoapError("protocol", `the server ended the upload early with ${codeString(reply.code)}`), reply);
        return finish(undefined, reply);
      }
      const ack = getOption(reply, OptionNumber.Block1);
      const acknowledged = ack ? decodeBlock(ack) : undefined;
      offset += chunk.length;
      if (acknowledged && acknowledged.szx < szx) szx = acknowledged.szx;
      send();
    });
  };
  send();
  return {
    cancel: () => {
      current?.cancel();
      finish(new CoapError("cancelled", "upload cancelled"));
    },
  };
}

/**
 * A request with a body of any size (up to what the server reassembles): one
 * message when it fits the endpoint's largest message, otherwise a Block1
 * upload in the largest blocks that fit. A single message answered 4.13 with
 * a Block1 or Size1 hint is sent again block-wise.
 */
export function requestWithBody(endpoint: CoapEndpoint, options: UploadOptions, done: UploadCallback): { cancel(): void } {
  const limit = endpoint.maxMessageSize;
  const overhead = blockRequestOverhead(options);
  const ceiling = fittingSzx(limit, overhead, Math.min(options.szx ?? endpoint.parameters.preferredSzx, MAX_SZX));
  const whole = encodedSize(buildRequest(options, new Uint8Array(options.token?.length ?? TOKEN_BYTES)));
  if (whole > limit && ceiling !== undefined) return upload(endpoint, { ...options, szx: ceiling }, done);
  // One message; when not even 16-byte blocks fit, the endpoint refuses it with "too-large".
  let current: { cancel(): void } = endpoint.request(options, (error, response) => {
    const hinted = !error && ceiling !== undefined && response!.code === ResponseCode.RequestEntityTooLarge ? szxAfterTooLarge(response!, MAX_SZX + 1, overhead, whole) : undefined;
    if (hinted === undefined) return done(error, response);
    current = upload(endpoint, { ...options, szx: Math.min(hinted, ceiling!) }, done);
  });
  return { cancel: () => current.cancel() };
}
