import type { SocketAddress } from "../../hal/net.js";
import { codeClass, codeString, EMPTY, isCriticalOption, KNOWN_OPTIONS, MessageType, METHOD_NAMES, OptionNumber, TYPE_NAMES } from "./constants.js";

export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/** One CoAP message. Options are kept sorted by number, repeated options in order. */
export interface CoapMessage {
  type: MessageType;
  code: number;
  messageId: number;
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array;
}

export type Peer = SocketAddress;

export function peerKey(peer: Peer): string {
  return `${peer.address}:${peer.port}`;
}

const EMPTY_BYTES = new Uint8Array(0);

export function emptyBytes(): Uint8Array {
  return EMPTY_BYTES;
}

export function createMessage(type: MessageType, codeValue: number, messageId: number, token: Uint8Array = EMPTY_BYTES): CoapMessage {
  return { type, code: codeValue, messageId, token, options: [], payload: EMPTY_BYTES };
}

/** Inserts an option keeping the list sorted by number (repeated options keep their order). */
export function addOption(message: CoapMessage, number: number, value: Uint8Array): void {
  const options = message.options;
  let index = options.length;
  while (index > 0 && options[index - 1]!.number > number) index--;
  options.splice(index, 0, { number, value });
}

export function removeOption(message: CoapMessage, number: number): void {
  message.options = message.options.filter((option) => option.number !== number);
}

export function getOption(message: CoapMessage, number: number): Uint8Array | undefined {
  for (const option of message.options) if (option.number === number) return option.value;
  return undefined;
}

export function getOptions(message: CoapMessage, number: number): Uint8Array[] {
  const values: Uint8Array[] = [];
  for (const option of message.options) if (option.number === number) values.push(option.value);
  return values;
}

export function hasOption(message: CoapMessage, number: number): boolean {
  return getOption(message, number) !== undefined;
}

// --- uint options (RFC 7252 §3.2: big-endian, shortest form) ---

export function encodeUint(value: number): Uint8Array {
  if (value < 0 || !Number.isInteger(value) || value > 0xffffffff) throw new RangeError(`option value ${value} is not a 32-bit unsigned integer`);
  if (value === 0) return EMPTY_BYTES;
  if (value < 0x100) return Uint8Array.of(value);
  if (value < 0x10000) return Uint8Array.of(value >> 8, value & 0xff);
  if (value < 0x1000000) return Uint8Array.of(value >> 16, (value >> 8) & 0xff, value & 0xff);
  return Uint8Array.of(value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

export function decodeUint(bytes: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < bytes.length; i++) value = value * 256 + bytes[i]!;
  return value;
}

export function getUintOption(message: CoapMessage, number: number): number | undefined {
  const value = getOption(message, number);
  return value === undefined ? undefined : decodeUint(value);
}

export function setUintOption(message: CoapMessage, number: number, value: number): void {
  removeOption(message, number);
  addOption(message, number, encodeUint(value));
}

// --- text options ---

export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Decodes UTF-8; malformed sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let c = 0xfffd;
    let length = 1;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80) {
      c = ((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
      length = 2;
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && (bytes[i + 2]! & 0xc0) === 0x80) {
      c = ((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
      length = 3;
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    } else if (b >= 0xf0 && b < 0xf5 && i + 3 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && (bytes[i + 2]! & 0xc0) === 0x80 && (bytes[i + 3]! & 0xc0) === 0x80) {
      c = ((b & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
      length = 4;
      if (c < 0x10000 || c > 0x10ffff) c = 0xfffd;
    }
    text += String.fromCodePoint(c);
    i += length;
  }
  return text;
}

/** "/3/0/1" or "3/0/1" → Uri-Path options. */
export function setUriPath(message: CoapMessage, path: string): void {
  removeOption(message, OptionNumber.UriPath);
  for (const segment of path.split("/")) if (segment.length > 0) addOption(message, OptionNumber.UriPath, utf8Encode(segment));
}

export function getUriPath(message: CoapMessage): string[] {
  return getOptions(message, OptionNumber.UriPath).map(utf8Decode);
}

export function getUriQuery(message: CoapMessage): string[] {
  return getOptions(message, OptionNumber.UriQuery).map(utf8Decode);
}

export function addUriQuery(message: CoapMessage, query: string): void {
  addOption(message, OptionNumber.UriQuery, utf8Encode(query));
}

export function getLocationPath(message: CoapMessage): string[] {
  return getOptions(message, OptionNumber.LocationPath).map(utf8Decode);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return text;
}

/** Bytes of a hex string (either case); undefined when it is not hex. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) return undefined;
  const data = new Uint8Array(text.length / 2);
  for (let i = 0; i < data.length; i++) data[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return data;
}

/** The number of the first critical option that is unknown, malformed or wrongly repeated (RFC 7252 §5.4.1), if any. */
export function findBadCriticalOption(message: CoapMessage): number | undefined {
  let previous = -1;
  for (const option of message.options) {
    const range = KNOWN_OPTIONS[option.number];
    const repeated = option.number === previous && !isRepeatable(option.number);
    previous = option.number;
    if (range && option.value.length >= range[0] && option.value.length <= range[1] && !repeated) continue;
    if (isCriticalOption(option.number)) return option.number;
    // An unrecognized or malformed elective option is ignored (RFC 7252 §5.4.1).
  }
  return undefined;
}

function isRepeatable(number: number): boolean {
  return number === OptionNumber.IfMatch || number === OptionNumber.ETag || number === OptionNumber.LocationPath || number === OptionNumber.UriPath || number === OptionNumber.UriQuery || number === OptionNumber.LocationQuery;
}

/** "CON GET MID=1234 token=ab12cd34 /3/0" for logs. */
export function describe(message: CoapMessage): string {
  const what = message.code === EMPTY ? "empty" : codeClass(message.code) === 0 ? (METHOD_NAMES[message.code] ?? codeString(message.code)) : codeString(message.code);
  const path = codeClass(message.code) === 0 && message.code !== EMPTY ? ` /${getUriPath(message).join("/")}` : "";
  const size = message.payload.length ? ` ${message.payload.length}B` : "";
  return `${TYPE_NAMES[message.type]} ${what} MID=${message.messageId}${message.token.length ? ` token=${toHex(message.token)}` : ""}${path}${size}`;
}
