/**
 * Device-management requests of the development server with block-wise
 * transfers (RFC 7959): a body larger than one datagram (the server's, or
 * the client's when it answers 4.13) goes Block1; a response carrying
 * Block2 with more blocks is completed by GETs of the following blocks, for
 * Read answers and for Observe responses and notifications alike (§2.6).
 */
import { download, DownloadError, requestWithBody } from "../../modules/coap/blockwise-client.js";
import { decodeBlock } from "../../modules/coap/block.js";
import { Method, OptionNumber } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { CoapError } from "../../modules/coap/errors.js";
import { getLocationPath, getOption, getUintOption, type CoapMessage, type Peer } from "../../modules/coap/message.js";

/** Largest representation the server assembles from Block2 blocks. */
export const MAX_BLOCKWISE_BYTES = 1024 * 1024;

export interface DmRequest {
  readonly method: number;
  readonly accept?: number;
  readonly contentFormat?: number;
  readonly payload?: Uint8Array;
  readonly query?: readonly string[];
}

/** A whole response: the payload of every block, in order. */
export interface DmResponse {
  readonly code: number;
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
  readonly locationPath: string[];
}

export interface Cancellable {
  cancel(): void;
}

/** True when a response carries Block2 and more blocks follow. */
export function hasMoreBlocks(response: CoapMessage): boolean {
  const value = getOption(response, OptionNumber.Block2);
  const block = value === undefined ? undefined : decodeBlock(value);
  return block !== undefined && block.more;
}

/**
 * Completes a response whose Block2 says more blocks follow: GETs the next
 * blocks (without Observe, with the same Accept), checks the ETag stays the
 * same, and calls back with the whole payload. When the representation
 * changed meanwhile (another ETag: a client may serve later blocks of a
 * notification from an older snapshot), it is fetched again whole from
 * block 0, once. A response without more blocks is handed back at once.
 */
export function completeBlock2(
  endpoint: CoapEndpoint,
  request: { readonly peer: Peer; readonly path: string; readonly accept?: number },
  first: CoapMessage,
  done: (error: CoapError | undefined, payload?: Uint8Array) => void,
): Cancellable {
  const value = getOption(first, OptionNumber.Block2);
  const block = value === undefined ? undefined : decodeBlock(value);
  if (!block || !block.more) {
    done(undefined, first.payload);
    return { cancel: () => undefined };
  }
  const etag = getOption(first, OptionNumber.ETag);
  let current = fetchBlocks(endpoint, request, block.szx, block.num + 1, etag, [first.payload.slice()], (error, payload) => {
    if (error instanceof DownloadError && error.stop === "etag-changed") {
      current = fetchBlocks(endpoint, request, block.szx, 0, undefined, [], done);
      return;
    }
    done(error, payload);
  });
  return { cancel: () => current.cancel() };
}

/** GETs blocks from `startBlock` on and appends them to `chunks`; bounded by MAX_BLOCKWISE_BYTES. */
function fetchBlocks(
  endpoint: CoapEndpoint,
  request: { readonly peer: Peer; readonly path: string; readonly accept?: number },
  szx: number,
  startBlock: number,
  etag: Uint8Array | undefined,
  chunks: Uint8Array[],
  done: (error: CoapError | undefined, payload?: Uint8Array) => void,
): Cancellable {
  let total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let overflow = false;
  return download(
    endpoint,
    {
      peer: request.peer,
      path: request.path,
      ...(request.accept !== undefined ? { accept: request.accept } : {}),
      szx,
      startBlock,
      ...(etag ? { expectedEtag: etag } : {}),
      onBlock: (_offset, data) => {
        total += data.length;
        if (total > MAX_BLOCKWISE_BYTES) {
          overflow = true;
          return false;
        }
        chunks.push(data.slice());
        return true;
      },
    },
    (error) => {
      if (error) return done(error);
      if (overflow) return done(new CoapError("too-large", `the representation exceeds ${MAX_BLOCKWISE_BYTES} bytes`));
      const payload = new Uint8Array(total);
      let at = 0;
      for (const chunk of chunks) {
        payload.set(chunk, at);
        at += chunk.length;
      }
      done(undefined, payload);
    },
  );
}

/**
 * Sends a device-management request; `done` gets the whole response (Block1
 * out, Block2 in). cancel() stops whichever exchange is under way.
 */
export function startDmRequest(endpoint: CoapEndpoint, peer: Peer, path: string, request: DmRequest, done: (error: Error | undefined, response?: DmResponse) => void): Cancellable {
  let current: Cancellable | undefined;
  const options = {
    peer,
    path,
    method: request.method,
    ...(request.accept !== undefined ? { accept: request.accept } : {}),
    ...(request.contentFormat !== undefined ? { contentFormat: request.contentFormat } : {}),
    ...(request.query ? { query: request.query } : {}),
  };
  const answered = (error: CoapError | undefined, response?: CoapMessage) => {
    if (error) return done(error);
    const reply = response!;
    const whole = (payload: Uint8Array) => done(undefined, { code: reply.code, contentFormat: getUintOption(reply, OptionNumber.ContentFormat), payload, locationPath: getLocationPath(reply) });
    if (request.method !== Method.GET || !hasMoreBlocks(reply)) return whole(reply.payload);
    current = completeBlock2(endpoint, { peer, path, ...(request.accept !== undefined ? { accept: request.accept } : {}) }, reply, (blockError, payload) => (blockError ? done(blockError) : whole(payload!)));
  };
  current = request.payload ? requestWithBody(endpoint, { ...options, payload: request.payload }, answered) : endpoint.request(options, answered);
  return { cancel: () => current?.cancel() };
}

/** Sends a device-management request and resolves with the whole response (Block1 out, Block2 in). */
export function dmRequest(endpoint: CoapEndpoint, peer: Peer, path: string, request: DmRequest): Promise<DmResponse> {
  return new Promise((resolve, reject) => void startDmRequest(endpoint, peer, path, request, (error, response) => (error ? reject(error) : resolve(response!))));
}
