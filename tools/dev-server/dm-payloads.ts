/** Payloads of the development server's device-management requests: decoded for display, encoded from typed values. */
import { codeClass, codeString, ContentFormat } from "../../modules/coap/constants.js";
import { toHex, utf8Decode } from "../../modules/coap/message.js";
import { encodeCborValue } from "../../modules/lwm2m/content/cbor-value.js";
import { canonicalFormat, decodeWrite, type DefinitionLookup } from "../../modules/lwm2m/content/formats.js";
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { encodeText } from "../../modules/lwm2m/content/text.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ObjectDefinition, ResourceDefinition } from "../../modules/lwm2m/model/types.js";
import { checkValue, ContentError, type ResourceEntry } from "../../modules/lwm2m/model/values.js";
import { formatPath, MAX_ID, type LwM2mPath } from "../../modules/lwm2m/path.js";
import { formatName } from "./content-formats.js";
import { toResourceValue } from "./resource-value.js";

/** The result of a device-management request, decoded for people and for the HTTP API. */
export interface DmResult {
  readonly code: string;
  readonly success: boolean;
  readonly format?: number;
  readonly payloadHex?: string;
  /** Values decoded with the object models (standard and loaded), when the format allows. */
  readonly values?: { path: string; value: unknown }[];
  /** Text payloads (link-format, plain text, diagnostics). */
  readonly text?: string;
  /** The Location-Path of a 2.01 Created (Create: the new instance, "/10299/1"). */
  readonly location?: string;
}

/** SenML values carry their type: a resource without a model still decodes (its type is unknown). */
function senmlLookup(lookup: DefinitionLookup): DefinitionLookup {
  return (objectId, resourceId) => lookup(objectId, resourceId) ?? { id: resourceId, name: `resource ${resourceId}`, operations: "", multiple: false, mandatory: false, type: "none" };
}

function decodeEntries(lookup: DefinitionLookup, path: LwM2mPath | undefined, format: number, payload: Uint8Array): ResourceEntry[] {
  const canonical = canonicalFormat(format);
  if (canonical === ContentFormat.SenmlJson) return decodeSenmlJson(path, payload, senmlLookup(lookup));
  if (canonical === ContentFormat.SenmlCbor) return decodeSenmlCbor(path, payload, senmlLookup(lookup));
  if (!path) throw new ContentError(`format ${format} does not name its paths`);
  return decodeWrite(path, format, payload, lookup);
}

/**
 * Decodes a payload for display: values for TLV, SenML, CBOR and text (by
 * the models), text for link-format. `path` undefined is the root (a Send:
 * SenML names carry whole paths).
 */
export function decodeResult(lookup: DefinitionLookup, path: LwM2mPath | undefined, code: number, format: number | undefined, payload: Uint8Array, locationPath: readonly string[] = []): DmResult {
  const base = {
    code: codeString(code),
    success: codeClass(code) === 2,
    ...(format !== undefined ? { format } : {}),
    ...(payload.length ? { payloadHex: toHex(payload) } : {}),
    ...(locationPath.length ? { location: `/${locationPath.join("/")}` } : {}),
  };
  if (!payload.length) return base;
  if (format === ContentFormat.LinkFormat || format === undefined || codeClass(code) !== 2) return { ...base, text: utf8Decode(payload) };
  if (canonicalFormat(format) === ContentFormat.OctetStream && payload.every((byte) => byte >= 0x20 && byte < 0x7f)) return { ...base, text: utf8Decode(payload) };
  const textual = canonicalFormat(format) === ContentFormat.TextPlain ? { text: utf8Decode(payload) } : {};
  try {
    const entries = decodeEntries(lookup, path, format, payload);
    return { ...base, ...textual, values: entries.map((entry) => ({ path: formatPath(entry.path), value: entry.value instanceof Uint8Array ? { hex: toHex(entry.value) } : entry.value })) };
  } catch {
    return { ...base, ...textual };
  }
}

function singleValuePath(path: LwM2mPath, definition: ResourceDefinition, format: number): void {
  if (definition.multiple && path.resourceInstanceId === undefined) throw new ContentError(`${formatName(format)} carries one value: write a multiple resource at a resource instance (${formatPath(path)}/0) or in TLV or SenML`);
}

/** Encodes entries below `base` in a multi-value format. */
function encodeEntries(base: LwM2mPath, entries: readonly ResourceEntry[], multiple: ReadonlySet<number>, format: number): Uint8Array {
  const canonical = canonicalFormat(format);
  if (canonical === ContentFormat.LwM2mTlv) return encodeTlv(base, entries, multiple);
  if (canonical === ContentFormat.SenmlJson) return encodeSenmlJson(base, entries);
  if (canonical === ContentFormat.SenmlCbor) return encodeSenmlCbor(base, entries);
  throw new ContentError(`format ${formatName(format)} (${format}) cannot be written by value: give payloadHex`);
}

/**
 * Encodes a value typed by `definition` for a Write to `path`, in the
 * format asked for; by default text (one value) or, for a whole multiple
 * resource, `multiValue` (the client's, else TLV).
 */
export function encodeWriteValue(path: LwM2mPath, definition: ResourceDefinition, value: unknown, requested: number | undefined, multiValue?: number): { format: number; payload: Uint8Array } {
  const typed = checkValue(definition, toResourceValue(value, definition.type));
  const whole = definition.multiple && path.resourceInstanceId === undefined;
  const format = requested ?? (whole ? (multiValue ?? ContentFormat.LwM2mTlv) : ContentFormat.TextPlain);
  const canonical = canonicalFormat(format);
  if (canonical === ContentFormat.TextPlain) {
    singleValuePath(path, definition, format);
    return { format, payload: encodeText(definition, typed) };
  }
  if (canonical === ContentFormat.Cbor) {
    singleValuePath(path, definition, format);
    return { format, payload: encodeCborValue(typed) };
  }
  if (canonical === ContentFormat.OctetStream) {
    if (!(typed instanceof Uint8Array)) throw new ContentError(`opaque (42) is only for opaque resources; ${formatPath(path)} is ${definition.type}`);
    return { format, payload: typed };
  }
  const entry = { path: whole ? { ...path, resourceInstanceId: 0 } : path, value: typed, type: definition.type };
  return { format, payload: encodeEntries(path, [entry], new Set(definition.multiple ? [definition.id] : []), format) };
}

/** The values of one resource from JSON: one value, or for a multiple resource an array or a {instanceId: value} map. */
function resourceValues(definition: ResourceDefinition, value: unknown): [number | undefined, unknown][] {
  if (!definition.multiple) return [[undefined, value]];
  if (Array.isArray(value)) return value.map((item, index) => [index, item]);
  if (value && typeof value === "object" && !("hex" in value)) return Object.entries(value).map(([key, item]) => [instanceKey(key, definition), item]);
  return [[0, value]];
}

function instanceKey(key: string, definition: ResourceDefinition): number {
  if (!/^[0-9]{1,5}$/.test(key) || Number(key) > MAX_ID) throw new ContentError(`resource ${definition.id} (${definition.name}): "${key}" is not a resource instance id`);
  return Number(key);
}

/**
 * Encodes a Create of one instance of `model` from `{resourceId: value}`.
 * In TLV without `instanceId` the payload holds resources only (the client
 * picks the id); SenML names the instance, so `instanceId` is needed there.
 */
export function encodeCreateValues(model: ObjectDefinition, values: Record<string, unknown>, format: number, instanceId: number | undefined): { format: number; payload: Uint8Array } {
  const entries: ResourceEntry[] = [];
  const multiple = new Set<number>();
  const placeholder = instanceId ?? 0;
  for (const [key, value] of Object.entries(values)) {
    const definition = /^[0-9]{1,5}$/.test(key) ? model.resources.find((candidate) => candidate.id === Number(key)) : undefined;
    if (!definition) throw new ContentError(`"${key}" is not a resource of object ${model.id} (${model.name})`);
    if (definition.operations === "E") throw new ContentError(`resource ${definition.id} (${definition.name}) is executable and holds no value`);
    if (definition.multiple) multiple.add(definition.id);
    for (const [resourceInstanceId, item] of resourceValues(definition, value)) {
      const path: LwM2mPath = { objectId: model.id, instanceId: placeholder, resourceId: definition.id, ...(resourceInstanceId !== undefined ? { resourceInstanceId } : {}) };
      entries.push({ path, value: checkValue(definition, toResourceValue(item, definition.type)), type: definition.type });
    }
  }
  const canonical = canonicalFormat(format);
  if (canonical === ContentFormat.LwM2mTlv && instanceId === undefined) return { format, payload: encodeTlv({ objectId: model.id, instanceId: placeholder }, entries, multiple) };
  if (instanceId === undefined) throw new ContentError(`a Create in ${formatName(format)} names the instance: give one`);
  return { format, payload: encodeEntries({ objectId: model.id }, entries, multiple, format) };
}
