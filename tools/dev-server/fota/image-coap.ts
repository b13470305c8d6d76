import { blockSize, decodeBlock, encodeBlock, MAX_SZX } from "../../../modules/coap/block.js";
import { ContentFormat, Method, OptionNumber, ResponseCode } from "../../../modules/coap/constants.js";
import type { ServerExchange } from "../../../modules/coap/endpoint.js";
import { encodeUint, getOption, utf8Encode, type Peer } from "../../../modules/coap/message.js";
import type { HostedImage, ImageStore } from "./image-store.js";

/** Room a response needs besides its block: header, token, ETag, Content-Format, Block2, Size2, payload marker. */
const RESPONSE_OVERHEAD = 64;

/** The largest SZX, at most `ceiling`, whose block fits a message of `maxMessageSize` bytes. */
export function fittingSzx(maxMessageSize: number, ceiling: number): number {
  let szx = Math.min(ceiling, MAX_SZX);
  while (szx > 0 && blockSize(szx) + RESPONSE_OVERHEAD > maxMessageSize) szx--;
  return szx;
}

/**
 * Answers GET /fw/NAME with the image, block by block (RFC 7959 Block2):
 * each block is cut from the image as asked (num and size of the request's
 * Block2, at most `preferredSzx` and what fits a message), carrying the
 * image's ETag (stable: from its SHA-256) and its Size2, so a download can
 * start or resume at any block. A block past the end is 4.02. Nothing is
 * cached per client. `served` learns the end offset of every block sent.
 */
export function serveImageOverCoap(
  exchange: ServerExchange,
  store: ImageStore,
  limits: { maxMessageSize: number; preferredSzx: number },
  served: (peer: Peer, image: HostedImage, end: number) => void,
): void {
  const { method, path, message, peer } = exchange.request;
  const image = path.length === 2 ? store.get(path[1]!) : undefined;
  if (!image) return exchange.respond({ code: ResponseCode.NotFound, payload: utf8Encode(`no image "${path.slice(1).join("/")}"`) });
  if (method !== Method.GET) return exchange.respond({ code: ResponseCode.MethodNotAllowed });
  const total = image.bytes.length;
  const raw = getOption(message, OptionNumber.Block2);
  const requested = raw === undefined ? undefined : decodeBlock(raw);
  const szx = fittingSzx(limits.maxMessageSize, Math.min(requested?.szx ?? MAX_SZX, limits.preferredSzx));
  const size = blockSize(szx);
  const offset = requested ? requested.num * blockSize(requested.szx) : 0;
  if (offset > 0 && offset >= total) return exchange.respond({ code: ResponseCode.BadOption, payload: utf8Encode(`block ${requested!.num} is past the end (${total} bytes)`) });
  const num = Math.floor(offset / size);
  const start = num * size;
  const end = Math.min(start + size, total);
  const more = end < total;
  const options = [{ number: OptionNumber.Size2, value: encodeUint(total) }];
  // A whole image in one block, asked for without Block2, goes without it.
  if (requested || more) options.push({ number: OptionNumber.Block2, value: encodeBlock({ num, more, szx }) });
  exchange.respond({ code: ResponseCode.Content, contentFormat: ContentFormat.OctetStream, etag: image.etag, payload: image.bytes.subarray(start, end), options });
  served(peer, image, end);
}
