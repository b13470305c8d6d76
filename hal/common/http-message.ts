/**
 * The parts of HTTP/1.1 a firmware download needs, shared by the HttpClient
 * ports (hal/http.ts): the http:// URL, the request headers of a resumed GET
 * (RFC 9110 §14.2 Range, §13.1.5 If-Range) and what the response headers say
 * about the body (Content-Length, Content-Range, ETag). Platform-free.
 */
import type { HttpResponseHeaders } from "../http.js";

export interface HttpTarget {
  /** Host name or address; an IPv6 literal without its brackets. */
  readonly host: string;
  readonly port: number;
  /** Path and query, at least "/". */
  readonly path: string;
}

/** Default port of http://. */
export const HTTP_PORT = 80;

/** Splits an http:// URL; undefined when it is not one (another scheme, no host, a bad port, user info, spaces). */
export function parseHttpUrl(url: string): HttpTarget | undefined {
  const match = /^http:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::([0-9]{1,5}))?([/?][^\s#]*)?(#\S*)?$/i.exec(url);
  if (!match) return undefined;
  const rawHost = match[1]!;
  const host = rawHost.charCodeAt(0) === 0x5b ? rawHost.slice(1, -1) : rawHost;
  const port = match[2] === undefined ? HTTP_PORT : Number(match[2]);
  if (!(port >= 1 && port <= 65535)) return undefined;
  const rest = match[3] ?? "/";
  return { host, port, path: rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest };
}

/** Range and If-Range of a GET starting at `offset` (nothing for 0; If-Range only with an entity tag). */
export function rangeRequestHeaders(offset: number | undefined, etag: string | undefined): [string, string][] {
  if (!offset || offset <= 0) return [];
  const headers: [string, string][] = [["Range", `bytes=${Math.floor(offset)}-`]];
  if (etag) headers.push(["If-Range", etag]);
  return headers;
}

/** "bytes first-last/total" (total may be "*"); undefined when malformed. */
export function parseContentRange(value: string | undefined): { first: number; last: number; total: number | undefined } | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*bytes\s+([0-9]{1,15})-([0-9]{1,15})\/([0-9]{1,15}|\*)\s*$/i.exec(value);
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  const total = match[3] === "*" ? undefined : Number(match[3]);
  if (last < first || (total !== undefined && last >= total)) return undefined;
  return { first, last, total };
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*[0-9]{1,15}\s*$/.test(value)) return undefined;
  return Number(value);
}

/** Partial Content. */
export const HTTP_PARTIAL_CONTENT = 206;

/**
 * HttpResponseHeaders from a response's status and headers (`header(name)`
 * with a lower-case name), or a string saying why the body cannot be placed:
 * a 206 must say where its bytes start (one Content-Range).
 */
export function describeHttpResponse(status: number, header: (name: string) => string | undefined): HttpResponseHeaders | string {
  const contentLength = parseLength(header("content-length"));
  const etag = header("etag")?.trim() || undefined;
  const range = parseContentRange(header("content-range"));
  if (status === HTTP_PARTIAL_CONTENT && !range) return `206 Partial Content without a usable Content-Range (${JSON.stringify(header("content-range") ?? "none")})`;
  return {
    ...(contentLength !== undefined ? { contentLength } : {}),
    ...(range?.total !== undefined ? { totalLength: range.total } : {}),
    rangeStart: status === HTTP_PARTIAL_CONTENT ? range!.first : 0,
    ...(etag !== undefined ? { etag } : {}),
  };
}
