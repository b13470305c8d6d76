/**
 * Content-Format names the development server takes wherever a format is
 * given (HTTP `accept`/`format`, console commands), and the format a read
 * uses when none is given, from what the client registered.
 */
import { ContentFormat } from "../../modules/coap/constants.js";
import type { Link } from "../../modules/lwm2m/content/link-format.js";
import type { LwM2mPath } from "../../modules/lwm2m/path.js";

/** Names of the LwM2M Content-Formats, matched without regard to case, with "-" and "_" alike. */
export const FORMAT_NAMES: Readonly<Record<string, number>> = Object.freeze({
  text: ContentFormat.TextPlain,
  "link-format": ContentFormat.LinkFormat,
  opaque: ContentFormat.OctetStream,
  cbor: ContentFormat.Cbor,
  "senml-json": ContentFormat.SenmlJson,
  "senml-cbor": ContentFormat.SenmlCbor,
  tlv: ContentFormat.LwM2mTlv,
  "lwm2m-json": ContentFormat.LwM2mJson,
  "lwm2m-cbor": ContentFormat.LwM2mCbor,
});

/** Thrown for a format that is neither a known name nor a Content-Format number (the HTTP API answers 400). */
export class FormatError extends Error {}

/** The name of a format number ("senml-cbor"), or the number as text. */
export function formatName(format: number): string {
  for (const [name, number] of Object.entries(FORMAT_NAMES)) if (number === format) return name;
  return String(format);
}

/**
 * A format given as a name (`senml-json`, `SENML_CBOR`, `tlv`, …) or as a
 * Content-Format number (110, "110"); undefined for undefined or "". Throws
 * FormatError naming the accepted names otherwise.
 */
export function parseFormat(value: unknown, what = "format"): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value === "number" || (typeof value === "string" && /^[0-9]+$/.test(value.trim()))) {
    const number = Number(value);
    if (Number.isInteger(number) && number >= 0 && number <= 0xffff) return number;
  } else if (typeof value === "string") {
    const number = FORMAT_NAMES[value.trim().toLowerCase().replace(/_/g, "-")];
    if (number !== undefined) return number;
  }
  const names = Object.entries(FORMAT_NAMES).map(([name, number]) => `${name} (${number})`);
  throw new FormatError(`${what} ${JSON.stringify(value)} is not a Content-Format: give a number (0..65535) or one of ${names.join(", ")}`);
}

/** Formats that carry several values, the ones this server decodes first. */
const MULTI_VALUE_PREFERENCE: readonly number[] = Object.freeze([
  ContentFormat.SenmlCbor,
  ContentFormat.SenmlJson,
  ContentFormat.LwM2mTlv,
  ContentFormat.LegacyLwM2mTlv,
  ContentFormat.LwM2mCbor,
  ContentFormat.LwM2mJson,
  ContentFormat.LegacyLwM2mJson,
]);

/**
 * The Content-Formats a client announced with `ct` on its root link
 * (`</>;ct=110` or `</>;ct="60 110 112"`); empty when it announced none.
 */
export function announcedFormats(links: readonly Link[]): number[] {
  const root = links.find((link) => link.target === "/");
  const formats: number[] = [];
  for (const [name, value] of root?.attributes ?? []) {
    if (name !== "ct" || value === true) continue;
    for (const word of String(value).split(/\s+/)) if (/^[0-9]+$/.test(word)) formats.push(Number(word));
  }
  return formats;
}

/**
 * The format for data of several values (an object or instance read, a
 * multiple resource written): the first the client announced in the order
 * SenML CBOR, SenML JSON, TLV, LwM2M CBOR/JSON; without an announcement, TLV
 * for LwM2M 1.0 clients (mandatory there) and none for later versions (the
 * client answers in a format of its choice).
 */
export function multiValueFormat(links: readonly Link[], version: string): number | undefined {
  const announced = announcedFormats(links);
  for (const format of MULTI_VALUE_PREFERENCE) if (announced.indexOf(format) >= 0) return format;
  return version === "1.0" ? ContentFormat.LwM2mTlv : undefined;
}

/**
 * The Accept of a read or observe given none: the multi-value format for
 * the root, objects and instances; none for a resource (the client picks
 * text, opaque or its own format for a multiple resource).
 */
export function defaultReadFormat(client: { readonly links: readonly Link[]; readonly version: string }, path: LwM2mPath): number | undefined {
  return path.resourceId === undefined ? multiValueFormat(client.links, client.version) : undefined;
}
