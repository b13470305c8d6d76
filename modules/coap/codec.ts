import { COAP_VERSION, MAX_TOKEN_LENGTH, MessageType, PAYLOAD_MARKER } from "./constants.js";
import type { CoapMessage, CoapOption } from "./message.js";

export type DecodeResult =
  | { readonly ok: true; readonly message: CoapMessage }
  | {
      readonly ok: false;
      readonly reason: string;
      /** Header fields when the 4-byte header was readable, so a CON can be answered with RST. */
      readonly type?: MessageType;
      readonly messageId?: number;
      readonly code?: number;
    };

/** Size of `message` once encoded, in bytes. */
export function encodedSize(message: CoapMessage): number {
  let size = 4 + message.token.length;
  let previous = 0;
  for (const option of message.options) {
    const delta = option.number - previous;
    size += 1 + extendedBytes(delta) + extendedBytes(option.value.length) + option.value.length;
    previous = option.number;
  }
  if (message.payload.length > 0) size += 1 + message.payload.length;
  return size;
}

function extendedBytes(value: number): number {
  return value < 13 ? 0 : value < 269 ? 1 : 2;
}

function nibble(value: number): number {
  return value < 13 ? value : value < 269 ? 13 : 14;
}

function writeExtended(target: Uint8Array, at: number, value: number): number {
  if (value < 13) return at;
  if (value < 269) {
    target[at] = value - 13;
    return at + 1;
  }
  const extended = value - 269;
  target[at] = extended >> 8;
  target[at + 1] = extended & 0xff;
  return at + 2;
}

/** Encodes a message; throws RangeError on fields no peer could decode. */
export function encodeMessage(message: CoapMessage): Uint8Array {
  if (message.token.length > MAX_TOKEN_LENGTH) throw new RangeError(`token of ${message.token.length} bytes (at most ${MAX_TOKEN_LENGTH})`);
  if (message.messageId < 0 || message.messageId > 0xffff || !Number.isInteger(message.messageId)) throw new RangeError(`message ID ${message.messageId}`);
  if (message.code < 0 || message.code > 0xff) throw new RangeError(`code ${message.code}`);
  const bytes = new Uint8Array(encodedSize(message));
  bytes[0] = (COAP_VERSION << 6) | (message.type << 4) | message.token.length;
  bytes[1] = message.code;
  bytes[2] = message.messageId >> 8;
  bytes[3] = message.messageId & 0xff;
  bytes.set(message.token, 4);
  let at = 4 + message.token.length;
  let previous = 0;
  for (const option of message.options) {
    const delta = option.number - previous;
    if (delta < 0) throw new RangeError("options are not sorted by number");
    const length = option.value.length;
    if (delta > 65804 || length > 65804) throw new RangeError(`option ${option.number} cannot be encoded`);
    bytes[at++] = (nibble(delta) << 4) | nibble(length);
    at = writeExtended(bytes, at, delta);
    at = writeExtended(bytes, at, length);
    bytes.set(option.value, at);
    at += length;
    previous = option.number;
  }
  if (message.payload.length > 0) {
    bytes[at++] = PAYLOAD_MARKER;
    bytes.set(message.payload, at);
  }
  return bytes;
}

/**
 * Strict decoder (RFC 7252 §3): never throws. Option values and the payload
 * are views into `bytes`, so the caller must not reuse that buffer while the
 * message is in use.
 */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  if (bytes.length < 4) return { ok: false, reason: `datagram of ${bytes.length} bytes is shorter than a CoAP header` };
  const first = bytes[0]!;
  const type = ((first >> 4) & 0x03) as MessageType;
  const code = bytes[1]!;
  const messageId = (bytes[2]! << 8) | bytes[3]!;
  const header = { type, messageId, code };
  if (first >> 6 !== COAP_VERSION) return { ok: false, reason: `unsupported CoAP version ${first >> 6}`, ...header };
  const tokenLength = first & 0x0f;
  if (tokenLength > MAX_TOKEN_LENGTH) return { ok: false, reason: `reserved token length ${tokenLength}`, ...header };
  if (4 + tokenLength > bytes.length) return { ok: false, reason: "token runs past the end of the datagram", ...header };
  const token = bytes.subarray(4, 4 + tokenLength);
  const options: CoapOption[] = [];
  let at = 4 + tokenLength;
  let number = 0;
  let payload = bytes.subarray(bytes.length);
  while (at < bytes.length) {
    const byte = bytes[at++]!;
    if (byte === PAYLOAD_MARKER) {
      if (at >= bytes.length) return { ok: false, reason: "payload marker followed by an empty payload", ...header };
      payload = bytes.subarray(at);
      break;
    }
    let delta = byte >> 4;
    let length = byte & 0x0f;
    if (delta === 15 || length === 15) return { ok: false, reason: "reserved option nibble 15", ...header };
    if (delta === 13) {
      if (at >= bytes.length) return { ok: false, reason: "truncated option delta", ...header };
      delta = bytes[at++]! + 13;
    } else if (delta === 14) {
      if (at + 1 >= bytes.length) return { ok: false, reason: "truncated option delta", ...header };
      delta = ((bytes[at]! << 8) | bytes[at + 1]!) + 269;
      at += 2;
    }
    if (length === 13) {
      if (at >= bytes.length) return { ok: false, reason: "truncated option length", ...header };
      length = bytes[at++]! + 13;
    } else if (length === 14) {
      if (at + 1 >= bytes.length) return { ok: false, reason: "truncated option length", ...header };
      length = ((bytes[at]! << 8) | bytes[at + 1]!) + 269;
      at += 2;
    }
    if (at + length > bytes.length) return { ok: false, reason: "option value runs past the end of the datagram", ...header };
    number += delta;
    if (number > 0xffff) return { ok: false, reason: `option number ${number} out of range`, ...header };
    options.push({ number, value: bytes.subarray(at, at + length) });
    at += length;
  }
  if (code === 0 && (tokenLength > 0 || options.length > 0 || payload.length > 0)) {
    return { ok: false, reason: "empty message with token, options or payload", ...header };
  }
  return { ok: true, message: { type, code, messageId, token, options, payload } };
}
