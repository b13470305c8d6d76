import { blockSize, decodeBlock, encodeBlock, MAX_SZX } from "./block.js";
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
  /** The download fails if the representation's ETag differs (resume of the same image). */
  readonly expectedEtag?: Uint8Array;
  /** Receives each block at its byte offset; returning false stops the download. */
  readonly onBlock: (offset: number, data: Uint8Array, more: boolean, info: DownloadInfo) => boolean | void;
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
      if (reply.code !== ResponseCode.Content) return finish(new CoapError("protocol", `download got ${codeString(reply.code)}`));
      const replyEtag = getOption(reply, OptionNumber.ETag);
      if (replyEtag && etag && !bytesEqual(replyEtag, etag)) return finish(new CoapError("protocol", "the resource changed during the download (ETag differs)"));
      if (replyEtag && !etag) etag = replyEtag.slice();
      size = getUintOption(reply, OptionNumber.Size2) ?? size;
      const blockValue = getOption(reply, OptionNumber.Block2);
      if (blockValue === undefined) {
        // The server sent the whole representation at once.
        if (offset > 0) return finish(new CoapError("protocol", "the server does not support resuming (no Block2)"));
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

/**
 * A Block1 upload (RFC 7959 §2.5): sends the body in blocks, waits for 2.31
 * Continue after each, adopts a smaller block size the server asks for, and
 * reports the final response.
 */
export function upload(endpoint: CoapEndpoint, options: UploadOptions, done: (error: CoapError | undefined, response?: CoapMessage) => void): { cancel(): void } {
  const body = options.payload;
  let szx = Math.min(options.szx ?? endpoint.parameters.preferredSzx, MAX_SZX);
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

/** Temporary: a plain request (the block-wise fallback comes next). */
export function requestWithBody(endpoint: CoapEndpoint, options: UploadOptions, done: (error: CoapError | undefined, response?: CoapMessage) => void): { cancel(): void } {
  return endpoint.request(options, done);
}
