/**
 * Rules one CoAP datagram from a client must keep on its own, without the
 * conversation around it: RFC 7252 §3 (format), §4 (message types), §5.4 and
 * §5.10 (options), RFC 7641 §2 (where Observe may appear).
 */
import { decodeMessage } from "../../../modules/coap/codec.js";
import { codeClass, codeString, COAP_VERSION, isCriticalOption, KNOWN_OPTIONS, MAX_TOKEN_LENGTH, MessageType, Method, METHOD_NAMES, OptionNumber } from "../../../modules/coap/constants.js";
import type { CoapMessage } from "../../../modules/coap/message.js";
import type { Problem } from "./violations.js";

/** Options that only requests carry (RFC 7252 Table 4, RFC 7967). */
const REQUEST_ONLY_OPTIONS: Readonly<Record<number, string>> = Object.freeze({
  [OptionNumber.IfMatch]: "If-Match",
  [OptionNumber.UriHost]: "Uri-Host",
  [OptionNumber.IfNoneMatch]: "If-None-Match",
  [OptionNumber.UriPort]: "Uri-Port",
  [OptionNumber.UriPath]: "Uri-Path",
  [OptionNumber.UriQuery]: "Uri-Query",
  [OptionNumber.Accept]: "Accept",
  [OptionNumber.ProxyUri]: "Proxy-Uri",
  [OptionNumber.ProxyScheme]: "Proxy-Scheme",
  [OptionNumber.NoResponse]: "No-Response",
});

/** Options that only responses carry (RFC 7252 Table 4). */
const RESPONSE_ONLY_OPTIONS: Readonly<Record<number, string>> = Object.freeze({
  [OptionNumber.LocationPath]: "Location-Path",
  [OptionNumber.MaxAge]: "Max-Age",
  [OptionNumber.LocationQuery]: "Location-Query",
});

/** Options that may appear more than once (RFC 7252 §5.4.5, Table 4). */
const REPEATABLE_OPTIONS: ReadonlySet<number> = new Set([OptionNumber.IfMatch, OptionNumber.ETag, OptionNumber.LocationPath, OptionNumber.UriPath, OptionNumber.UriQuery, OptionNumber.LocationQuery]);

export interface SyntaxCheck {
  /** The decoded message, when the datagram decodes. */
  readonly message?: CoapMessage;
  readonly problems: Problem[];
}

/** Checks one datagram a client sent. */
export function checkDatagram(bytes: Uint8Array): SyntaxCheck {
  const problems: Problem[] = [];
  const add = (rule: string, message: string) => problems.push({ rule, message });
  if (bytes.length < 4) {
    add("RFC 7252 §3", `a datagram of ${bytes.length} bytes is shorter than the 4-byte CoAP header`);
    return { problems };
  }
  const version = bytes[0]! >> 6;
  const tokenLength = bytes[0]! & 0x0f;
  const code = bytes[1]!;
  if (version !== COAP_VERSION) {
    add("RFC 7252 §3", `Version must be 1, got ${version}`);
    return { problems };
  }
  if (tokenLength > MAX_TOKEN_LENGTH) add("RFC 7252 §3", `token lengths 9-15 are reserved, got ${tokenLength}`);
  const emptyWithContent = code === 0 && bytes.length > 4;
  if (emptyWithContent) add("RFC 7252 §4.1", "an Empty message (code 0.00) must have no token, options or payload");
  const decoded = decodeMessage(bytes);
  if (!decoded.ok) {
    const covered = tokenLength > MAX_TOKEN_LENGTH || emptyWithContent;
    if (!covered) add("RFC 7252 §3.1", `the message does not decode: ${decoded.reason}`);
    return { problems };
  }
  const message = decoded.message;
  checkTypeAndCode(message, add);
  checkOptions(message, add);
  return { message, problems };
}

function checkTypeAndCode(message: CoapMessage, add: (rule: string, message: string) => void): void {
  const kind = codeClass(message.code);
  if (kind === 1 || kind >= 6) add("RFC 7252 §12.1", `code class ${kind} is reserved (code ${codeString(message.code)})`);
  if (message.code === 0) {
    if (message.type === MessageType.NonConfirmable) add("RFC 7252 §4.3", "a Non-confirmable message must carry a request or a response, never be Empty");
    return;
  }
  if (message.type === MessageType.Reset) add("RFC 7252 §4.2", `a Reset message must be Empty, got code ${codeString(message.code)}`);
  if (message.type === MessageType.Acknowledgement && kind === 0) add("RFC 7252 §4.2", `an Acknowledgement must carry a response or be Empty, got request code ${codeString(message.code)}`);
}

function checkOptions(message: CoapMessage, add: (rule: string, message: string) => void): void {
  if (message.code === 0) return;
  const request = codeClass(message.code) === 0;
  const what = request ? `a ${METHOD_NAMES[message.code] ?? codeString(message.code)} request` : `a ${codeString(message.code)} response`;
  let previous = -1;
  for (const option of message.options) {
    const range = KNOWN_OPTIONS[option.number];
    if (!range) {
      if (isCriticalOption(option.number)) add("RFC 7252 §5.4.1", `unrecognized critical option ${option.number} in ${what}`);
    } else if (option.value.length < range[0] || option.value.length > range[1]) {
      add("RFC 7252 §5.4.3 / §5.10", `option ${option.number} has a value of ${option.value.length} bytes (allowed ${range[0]}-${range[1]})`);
    }
    if (option.number === previous && !REPEATABLE_OPTIONS.has(option.number) && range) add("RFC 7252 §5.4.5", `option ${option.number} is not repeatable but occurs more than once in ${what}`);
    previous = option.number;
    if (!request && REQUEST_ONLY_OPTIONS[option.number]) add("RFC 7252 §5.10", `${REQUEST_ONLY_OPTIONS[option.number]} is a request option, found in ${what}`);
    if (request && RESPONSE_ONLY_OPTIONS[option.number]) add("RFC 7252 §5.10", `${RESPONSE_ONLY_OPTIONS[option.number]} is a response option, found in ${what}`);
    if (option.number === OptionNumber.LocationPath && isDotSegment(option.value)) add("RFC 7252 §5.10.7", 'a Location-Path segment must not be "." or ".."');
  }
  const observed = message.options.some((option) => option.number === OptionNumber.Observe);
  if (request && observed && message.code !== Method.GET && message.code !== Method.FETCH) add("RFC 7641 §2 / RFC 8132 §2.4", `Observe is defined for GET and FETCH requests, found in ${what}`);
}

function isDotSegment(value: Uint8Array): boolean {
  return (value.length === 1 && value[0] === 0x2e) || (value.length === 2 && value[0] === 0x2e && value[1] === 0x2e);
}
