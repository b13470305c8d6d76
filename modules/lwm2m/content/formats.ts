import { ContentFormat } from "../../coap/constants.js";
import type { LwM2mPath } from "../path.js";
import type { ResourceDefinition } from "../model/types.js";
import { ContentError, type ResourceEntry } from "../model/values.js";
import { decodeCborValue, encodeCborValue } from "./cbor-value.js";
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson } from "./senml.js";
import { decodeText, encodeText } from "./text.js";
import { decodeTlv, encodeTlv } from "./tlv.js";

export type DefinitionLookup = (objectId: number, resourceId: number) => ResourceDefinition | undefined;

/** Formats this client reads and writes (the legacy 1.0 draft numbers are accepted as aliases). */
const ALIASES: Readonly<Record<number, number>> = Object.freeze({
  [ContentFormat.LegacyLwM2mText]: ContentFormat.TextPlain,
  [ContentFormat.LegacyLwM2mTlv]: ContentFormat.LwM2mTlv,
  [ContentFormat.LegacyLwM2mOpaque]: ContentFormat.OctetStream,
});

export function canonicalFormat(format: number): number {
  return ALIASES[format] ?? format;
}

const SINGLE_VALUE_FORMATS: readonly number[] = Object.freeze([ContentFormat.TextPlain, ContentFormat.OctetStream, ContentFormat.Cbor]);
const MULTI_VALUE_FORMATS: readonly number[] = Object.freeze([ContentFormat.LwM2mTlv, ContentFormat.SenmlJson, ContentFormat.SenmlCbor]);

export type EncodeResult = { readonly format: number; readonly payload: Uint8Array } | { readonly notAcceptable: true };

/**
 * Encodes a Read result. With no Accept, the most compact format every
 * LwM2M 1.0 and 1.1 server takes: a single resource as text/plain (opaque as
 * application/octet-stream, also for an opaque multiple resource holding one
 * instance, as Agent Tiny's /19/0/0 is read), anything wider as TLV. An
 * Accept the data cannot be given in gets 4.06.
 */
export function encodeRead(path: LwM2mPath, entries: readonly ResourceEntry[], single: ResourceDefinition | undefined, accept: number | undefined): EncodeResult {
  const wanted = accept === undefined ? undefined : canonicalFormat(accept);
  const reply = (format: number, payload: Uint8Array): EncodeResult => ({ format: accept ?? format, payload });
  const opaqueValue = single?.type === "opaque" && entries.length === 1;
  if (opaqueValue && (wanted === undefined || wanted === ContentFormat.OctetStream)) return reply(ContentFormat.OctetStream, entries[0]!.value as Uint8Array);
  if (single && !single.multiple && entries.length === 1) {
    const entry = entries[0]!;
    if (wanted === undefined) {
      if (single.type === "opaque") return reply(ContentFormat.OctetStream, entry.value as Uint8Array);
      return reply(ContentFormat.TextPlain, encodeText(single, entry.value));
    }
    if (wanted === ContentFormat.TextPlain) return reply(wanted, encodeText(single, entry.value));
    if (wanted === ContentFormat.Cbor) return reply(wanted, encodeCborValue(entry.value));
    if (wanted === ContentFormat.OctetStream) return single.type === "opaque" ? reply(wanted, entry.value as Uint8Array) : { notAcceptable: true };
  } else if (wanted !== undefined && SINGLE_VALUE_FORMATS.indexOf(wanted) >= 0) {
    return { notAcceptable: true };
  }
  const format = wanted ?? ContentFormat.LwM2mTlv;
  if (MULTI_VALUE_FORMATS.indexOf(format) < 0) return { notAcceptable: true };
  const multiple = new Set<number>();
  for (const entry of entries) if (entry.path.resourceInstanceId !== undefined) multiple.add(entry.path.resourceId!);
  if (format === ContentFormat.LwM2mTlv) return reply(format, encodeTlv(path, entries, multiple));
  if (format === ContentFormat.SenmlJson) return reply(format, encodeSenmlJson(path, entries));
  return reply(format, encodeSenmlCbor(path, entries));
}

/** Thrown for a Content-Format this client does not take: answered with 4.15. */
export class UnsupportedFormatError extends Error {}

/** Decodes a Write, Create or Bootstrap-Write payload aimed at `path`. */
export function decodeWrite(path: LwM2mPath, format: number | undefined, payload: Uint8Array, lookup: DefinitionLookup): ResourceEntry[] {
  const canonical = format === undefined ? undefined : canonicalFormat(format);
  if (canonical === ContentFormat.TextPlain || canonical === ContentFormat.OctetStream || canonical === ContentFormat.Cbor) {
    if (path.resourceId === undefined) throw new ContentError("text/plain, opaque and CBOR carry one resource: write them to a resource path");
    const definition = lookup(path.objectId, path.resourceId);
    if (!definition) throw new ContentError(`resource ${path.resourceId} is not defined`);
    if (definition.multiple && path.resourceInstanceId === undefined) throw new ContentError("a multiple resource needs TLV or SenML");
    const value =
      canonical === ContentFormat.OctetStream ? (definition.type === "opaque" ? payload.slice() : badOpaque()) : canonical === ContentFormat.Cbor ? decodeCborValue(definition, payload) : decodeText(definition, payload);
    return [{ path, value, type: definition.type }];
  }
  if (canonical === ContentFormat.LwM2mTlv) return decodeTlv(path, payload, lookup);
  if (canonical === ContentFormat.SenmlJson) return decodeSenmlJson(path, payload, lookup);
  if (canonical === ContentFormat.SenmlCbor) return decodeSenmlCbor(path, payload, lookup);
  throw new UnsupportedFormatError(`content format ${format ?? "(none)"} is not supported`);
}

function badOpaque(): never {
  throw new ContentError("application/octet-stream is only for opaque resources");
}
