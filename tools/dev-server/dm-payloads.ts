/** Payloads of the development server's device-management requests: decoded for display, encoded from typed values. */
import { codeClass, codeString, ContentFormat } from "../../modules/coap/constants.js";
import { toHex, utf8Decode } from "../../modules/coap/message.js";
import { canonicalFormat, decodeWrite } from "../../modules/lwm2m/content/formats.js";
import { encodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { encodeText } from "../../modules/lwm2m/content/text.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ObjectStore } from "../../modules/lwm2m/model/object-store.js";
import type { ResourceDefinition } from "../../modules/lwm2m/model/types.js";
import { checkValue } from "../../modules/lwm2m/model/values.js";
import { formatPath, type LwM2mPath } from "../../modules/lwm2m/path.js";
import { toResourceValue } from "./resource-value.js";

/** The result of a device-management request, decoded for people and for the HTTP API. */
export interface DmResult {
  readonly code: string;
  readonly success: boolean;
  readonly format?: number;
  readonly payloadHex?: string;
  /** Values decoded with the standard object definitions, when the format allows. */
  readonly values?: { path: string; value: unknown }[];
  /** Text payloads (link-format, plain text, diagnostics). */
  readonly text?: string;
}

/** Decodes a payload for display: values for TLV, SenML and text (by `definitions`), text for link-format. */
export function decodeResult(definitions: ObjectStore, path: LwM2mPath, code: number, format: number | undefined, payload: Uint8Array): DmResult {
  const base = { code: codeString(code), success: codeClass(code) === 2, ...(format !== undefined ? { format } : {}), ...(payload.length ? { payloadHex: toHex(payload) } : {}) };
  if (!payload.length) return base;
  if (format === ContentFormat.LinkFormat || format === undefined || codeClass(code) !== 2) return { ...base, text: utf8Decode(payload) };
  if (canonicalFormat(format) === ContentFormat.OctetStream && payload.every((byte) => byte >= 0x20 && byte < 0x7f)) return { ...base, text: utf8Decode(payload) };
  try {
    const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);
    const entries = decodeWrite(path, format, payload, lookup);
    const textual = canonicalFormat(format) === ContentFormat.TextPlain ? { text: utf8Decode(payload) } : {};
    return { ...base, ...textual, values: entries.map((entry) => ({ path: formatPath(entry.path), value: entry.value instanceof Uint8Array ? { hex: toHex(entry.value) } : entry.value })) };
  } catch {
    return canonicalFormat(format) === ContentFormat.TextPlain ? { ...base, text: utf8Decode(payload) } : base;
  }
}

/**
 * Encodes a value typed by `definition` for a Write to `path`: TLV by default
 * for a multiple resource, text otherwise, or the format asked for.
 */
export function encodeWriteValue(path: LwM2mPath, definition: ResourceDefinition, value: unknown, requested: number | undefined): { format: number; payload: Uint8Array } {
  const typed = checkValue(definition, toResourceValue(value, definition.type));
  const format = requested ?? (definition.multiple && path.resourceInstanceId === undefined ? ContentFormat.LwM2mTlv : ContentFormat.TextPlain);
  if (format === ContentFormat.LwM2mTlv) {
    const entry = { path: path.resourceInstanceId === undefined && definition.multiple ? { ...path, resourceInstanceId: 0 } : path, value: typed, type: definition.type };
    return { format, payload: encodeTlv(path, [entry], new Set(definition.multiple ? [definition.id] : [])) };
  }
  if (format === ContentFormat.SenmlJson) return { format, payload: encodeSenmlJson(path, [{ path, value: typed, type: definition.type }]) };
  if (format === ContentFormat.OctetStream) return { format, payload: typed as Uint8Array };
  return { format, payload: encodeText(definition, typed) };
}
