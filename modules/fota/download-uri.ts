import { utf8Encode } from "../coap/message.js";

/** A Package URI taken apart: scheme://host[:port][/path][?query]. */
export interface DownloadUri {
  /** Lower case. */
  readonly scheme: string;
  /** Without the brackets of an IPv6 literal. */
  readonly host: string;
  /** Undefined when the URI names none (the scheme's default applies). */
  readonly port: number | undefined;
  /** Percent-decoded path segments: the Uri-Path options (none for "" or "/"). */
  readonly path: readonly Uint8Array[];
  /** Percent-decoded query arguments split at "&": the Uri-Query options. */
  readonly query: readonly Uint8Array[];
}

/** Longest Uri-Path or Uri-Query option value (RFC 7252 §5.10). */
const MAX_OPTION_BYTES = 255;
/** Longest Package URI (/5/0/1 is a string of 0..255 characters). */
const MAX_URI_LENGTH = 255;

const URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::([0-9]*))?(\/[^?#]*)?(?:\?([^#]*))?$/;

/**
 * Takes a Package URI apart (RFC 3986; for coap and coaps the steps of RFC
 * 7252 §6.4). A string says why it is malformed: no scheme://host, user
 * information, a fragment, a bad port, bad percent-encoding, white space,
 * or a segment longer than one CoAP option holds.
 */
export function parseDownloadUri(uri: string): DownloadUri | string {
  if (uri.length === 0) return "the URI is empty";
  if (uri.length > MAX_URI_LENGTH) return `the URI is longer than ${MAX_URI_LENGTH} characters`;
  if (/[\s\x00-\x1f\x7f]/.test(uri)) return "the URI holds white space or control characters";
  if (uri.indexOf("#") >= 0) return "the URI has a fragment";
  const match = URI.exec(uri);
  if (!match) return `"${uri}" is not scheme://host[:port][/path][?query]`;
  const host = match[2]!.charAt(0) === "[" ? match[2]!.slice(1, -1) : match[2]!;
  if (host.indexOf("%") >= 0) return "percent-encoded host names are not supported";
  let port: number | undefined;
  if (match[3] !== undefined && match[3] !== "") {
    port = Number(match[3]);
    if (!(port >= 1 && port <= 65535)) return `port ${match[3]} is out of range`;
  }
  const path: Uint8Array[] = [];
  const pathText = match[4] ?? "";
  if (pathText !== "" && pathText !== "/") {
    for (const segment of pathText.slice(1).split("/")) {
      const bytes = percentDecode(segment);
      if (!bytes) return `bad percent-encoding in the path segment "${segment}"`;
      if (bytes.length > MAX_OPTION_BYTES) return "a path segment is longer than 255 bytes";
      path.push(bytes);
    }
  }
  const query: Uint8Array[] = [];
  if (match[5]) {
    for (const argument of match[5].split("&")) {
      const bytes = percentDecode(argument);
      if (!bytes) return `bad percent-encoding in the query argument "${argument}"`;
      if (bytes.length > MAX_OPTION_BYTES) return "a query argument is longer than 255 bytes";
      query.push(bytes);
    }
  }
  return { scheme: match[1]!.toLowerCase(), host, port, path, query };
}

/** %XX to bytes, other characters as UTF-8; undefined for a "%" without two hex digits. */
function percentDecode(text: string): Uint8Array | undefined {
  if (text.indexOf("%") < 0) return utf8Encode(text);
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    if (text.charAt(i) === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 3;
    } else {
      const next = text.indexOf("%", i);
      const end = next < 0 ? text.length : next;
      for (const byte of utf8Encode(text.slice(i, end))) out.push(byte);
      i = end;
    }
  }
  return Uint8Array.from(out);
}
