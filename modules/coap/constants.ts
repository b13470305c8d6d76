/** CoAP protocol constants (RFC 7252, 7641, 7959). Frozen so preload keeps them in flash. */

export const enum MessageType {
  Confirmable = 0,
  NonConfirmable = 1,
  Acknowledgement = 2,
  Reset = 3,
}

export const TYPE_NAMES: readonly string[] = Object.freeze(["CON", "NON", "ACK", "RST"]);

/** Builds a code from class and detail: code(2, 5) is 2.05. */
export function code(codeClass: number, detail: number): number {
  return (codeClass << 5) | detail;
}

export function codeClass(value: number): number {
  return value >> 5;
}

/** "2.05" for 69. */
export function codeString(value: number): string {
  const detail = value & 0x1f;
  return `${value >> 5}.${detail < 10 ? "0" : ""}${detail}`;
}

export const Method = Object.freeze({
  GET: 1,
  POST: 2,
  PUT: 3,
  DELETE: 4,
  FETCH: 5,
  PATCH: 6,
  IPATCH: 7,
});

export const METHOD_NAMES: Readonly<Record<number, string>> = Object.freeze({ 1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "FETCH", 6: "PATCH", 7: "iPATCH" });

export const EMPTY = 0;

export const ResponseCode = Object.freeze({
  Created: 65, // 2.01
  Deleted: 66, // 2.02
  Valid: 67, // 2.03
  Changed: 68, // 2.04
  Content: 69, // 2.05
  Continue: 95, // 2.31
  BadRequest: 128, // 4.00
  Unauthorized: 129, // 4.01
  BadOption: 130, // 4.02
  Forbidden: 131, // 4.03
  NotFound: 132, // 4.04
  MethodNotAllowed: 133, // 4.05
  NotAcceptable: 134, // 4.06
  RequestEntityIncomplete: 136, // 4.08
  PreconditionFailed: 140, // 4.12
  RequestEntityTooLarge: 141, // 4.13
  UnsupportedContentFormat: 143, // 4.15
  InternalServerError: 160, // 5.00
  NotImplemented: 161, // 5.01
  ServiceUnavailable: 163, // 5.03
  GatewayTimeout: 164, // 5.04
});

export const OptionNumber = Object.freeze({
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  NoResponse: 258,
});

/** Options this stack understands, with their value length range (RFC 7252 §5.10 and the extensions). */
export const KNOWN_OPTIONS: Readonly<Record<number, readonly [number, number]>> = Object.freeze({
  1: Object.freeze([0, 8] as const),
  3: Object.freeze([1, 255] as const),
  4: Object.freeze([1, 8] as const),
  5: Object.freeze([0, 0] as const),
  6: Object.freeze([0, 3] as const),
  7: Object.freeze([0, 2] as const),
  8: Object.freeze([0, 255] as const),
  11: Object.freeze([0, 255] as const),
  12: Object.freeze([0, 2] as const),
  14: Object.freeze([0, 4] as const),
  15: Object.freeze([0, 255] as const),
  17: Object.freeze([0, 2] as const),
  20: Object.freeze([0, 255] as const),
  23: Object.freeze([0, 3] as const),
  27: Object.freeze([0, 3] as const),
  28: Object.freeze([0, 4] as const),
  35: Object.freeze([1, 1034] as const),
  39: Object.freeze([1, 255] as const),
  60: Object.freeze([0, 4] as const),
  258: Object.freeze([0, 1] as const),
});

/** Critical options have odd numbers (RFC 7252 §5.4.6). */
export function isCriticalOption(number: number): boolean {
  return (number & 1) === 1;
}

export const ContentFormat = Object.freeze({
  TextPlain: 0,
  LinkFormat: 40,
  Xml: 41,
  OctetStream: 42,
  Exi: 47,
  Json: 50,
  Cbor: 60,
  SenmlJson: 110,
  SenmlCbor: 112,
  LwM2mTlv: 11542,
  LwM2mJson: 11543,
  LwM2mCbor: 11544,
  LegacyLwM2mText: 1541,
  LegacyLwM2mTlv: 1542,
  LegacyLwM2mJson: 1543,
  LegacyLwM2mOpaque: 1544,
});

export const PAYLOAD_MARKER = 0xff;
export const COAP_VERSION = 1;
export const MAX_TOKEN_LENGTH = 8;
/** Observe sequence numbers are 24-bit (RFC 7641 §4.4). */
export const OBSERVE_SEQUENCE_MODULO = 1 << 24;
