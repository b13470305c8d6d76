import { utf8Decode, utf8Encode } from "../../coap/message.js";
import { formatPath, type LwM2mPath } from "../path.js";
import type { ResourceDefinition, ResourceType, ResourceValue } from "../model/types.js";
import { ContentError, type ResourceEntry } from "../model/values.js";

/** OMA-TLV identifier types (OMA-TS-LightweightM2M_Core §7.4.3). */
const enum TlvKind {
  ObjectInstance = 0,
  ResourceInstance = 1,
  MultipleResource = 2,
  Resource = 3,
}

interface Tlv {
  readonly kind: TlvKind;
  readonly id: number;
  readonly value: Uint8Array;
}

function header(kind: TlvKind, id: number, length: number): Uint8Array {
  const idBytes = id > 0xff ? 2 : 1;
  const lengthBytes = length < 8 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
  const out = new Uint8Array(1 + idBytes + lengthBytes);
  out[0] = (kind << 6) | (idBytes === 2 ? 0x20 : 0) | (lengthBytes << 3) | (lengthBytes === 0 ? length : 0);
  let at = 1;
  if (idBytes === 2) out[at++] = id >> 8;
  out[at++] = id & 0xff;
  for (let shift = (lengthBytes - 1) * 8; shift >= 0; shift -= 8) out[at++] = (length >> shift) & 0xff;
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function tlv(kind: TlvKind, id: number, value: Uint8Array): Uint8Array {
  return concat([header(kind, id, value.length), value]);
}

function encodeInteger(value: number, unsigned: boolean): Uint8Array {
  if (!unsigned && value >= -128 && value <= 127) return Uint8Array.of(value & 0xff);
  if ((unsigned && value <= 0xff) ) return Uint8Array.of(value);
  if ((!unsigned && value >= -32768 && value <= 32767) || (unsigned && value <= 0xffff)) return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
  if ((!unsigned && value >= -2147483648 && value <= 2147483647) || (unsigned && value <= 0xffffffff)) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value >>> 0);
    return out;
  }
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  const high = Math.floor(value / 4294967296);
  view.setInt32(0, high);
  view.setUint32(4, value - high * 4294967296);
  return out;
}

export function encodeTlvValue(type: ResourceType, value: ResourceValue): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return utf8Encode(value);
  if (typeof value === "boolean") return Uint8Array.of(value ? 1 : 0);
  if (typeof value === "object") return Uint8Array.of(value.objectId >> 8, value.objectId & 0xff, value.instanceId >> 8, value.instanceId & 0xff);
  if (type === "float") {
    const single = new Uint8Array(4);
    new DataView(single.buffer).setFloat32(0, value);
    if (new DataView(single.buffer).getFloat32(0) === value) return single;
    const double = new Uint8Array(8);
    new DataView(double.buffer).setFloat64(0, value);
    return double;
  }
  return encodeInteger(value, type === "unsigned");
}

export function decodeTlvValue(definition: ResourceDefinition, bytes: Uint8Array): ResourceValue {
  const where = `resource ${definition.id} (${definition.name})`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (definition.type) {
    case "integer":
    case "time":
    case "unsigned": {
      const signed = definition.type !== "unsigned";
      if (bytes.length === 1) return signed ? view.getInt8(0) : view.getUint8(0);
      if (bytes.length === 2) return signed ? view.getInt16(0) : view.getUint16(0);
      if (bytes.length === 4) return signed ? view.getInt32(0) : view.getUint32(0);
      if (bytes.length === 8) {
        const value = (signed ? view.getInt32(0) : view.getUint32(0)) * 4294967296 + view.getUint32(4);
        if (!Number.isSafeInteger(value)) throw new ContentError(`${where}: 64-bit value beyond 2^53`);
        return value;
      }
      throw new ContentError(`${where}: integer of ${bytes.length} bytes`);
    }
    case "float":
      if (bytes.length === 4) return view.getFloat32(0);
      if (bytes.length === 8) return view.getFloat64(0);
      throw new ContentError(`${where}: float of ${bytes.length} bytes`);
    case "boolean":
      if (bytes.length !== 1 || bytes[0]! > 1) throw new ContentError(`${where}: boolean must be one byte 0 or 1`);
      return bytes[0] === 1;
    case "objlnk":
      if (bytes.length !== 4) throw new ContentError(`${where}: object link must be 4 bytes`);
      return { objectId: view.getUint16(0), instanceId: view.getUint16(2) };
    case "opaque":
      return bytes.slice();
    case "none":
      throw new ContentError(`${where} holds no value`);
    default:
      return utf8Decode(bytes);
  }
}

/**
 * Encodes entries that lie below `base` (an object, instance, or resource
 * path) as OMA-TLV: object instances, resources, multiple resources and
 * resource instances as the level requires.
 */
export function encodeTlv(base: LwM2mPath, entries: readonly ResourceEntry[], multipleResources: ReadonlySet<number>): Uint8Array {
  const encodeResources = (list: readonly ResourceEntry[]): Uint8Array[] => {
    const out: Uint8Array[] = [];
    const byResource = new Map<number, ResourceEntry[]>();
    for (const entry of list) {
      const id = entry.path.resourceId!;
      if (!byResource.has(id)) byResource.set(id, []);
      byResource.get(id)!.push(entry);
    }
    for (const [id, group] of byResource) {
      if (multipleResources.has(id)) {
        const inner = group.map((entry) => tlv(TlvKind.ResourceInstance, entry.path.resourceInstanceId!, encodeTlvValue(entry.type, entry.value)));
        out.push(tlv(TlvKind.MultipleResource, id, concat(inner)));
      } else out.push(tlv(TlvKind.Resource, id, encodeTlvValue(group[0]!.type, group[0]!.value)));
    }
    return out;
  };
  if (base.resourceInstanceId !== undefined) {
    const entry = entries[0];
    return entry ? tlv(TlvKind.ResourceInstance, base.resourceInstanceId, encodeTlvValue(entry.type, entry.value)) : new Uint8Array(0);
  }
  if (base.instanceId !== undefined) return concat(encodeResources(entries));
  const byInstance = new Map<number, ResourceEntry[]>();
  for (const entry of entries) {
    const id = entry.path.instanceId!;
    if (!byInstance.has(id)) byInstance.set(id, []);
    byInstance.get(id)!.push(entry);
  }
  return concat(Array.from(byInstance, ([id, list]) => tlv(TlvKind.ObjectInstance, id, concat(encodeResources(list)))));
}

function parseTlvs(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < bytes.length) {
    const type = bytes[at++]!;
    const kind = (type >> 6) as TlvKind;
    const idBytes = type & 0x20 ? 2 : 1;
    const lengthType = (type >> 3) & 0x03;
    if (at + idBytes + lengthType > bytes.length) throw new ContentError("TLV header runs past the payload");
    let id = bytes[at++]!;
    if (idBytes === 2) id = (id << 8) | bytes[at++]!;
    let length = type & 0x07;
    if (lengthType > 0) {
      length = 0;
      for (let i = 0; i < lengthType; i++) length = (length << 8) | bytes[at++]!;
    }
    if (at + length > bytes.length) throw new ContentError("TLV value runs past the payload");
    out.push({ kind, id, value: bytes.subarray(at, at + length) });
    at += length;
  }
  return out;
}

/** Decodes OMA-TLV written to `base`; `lookup` gives each resource's definition. */
export function decodeTlv(base: LwM2mPath, bytes: Uint8Array, lookup: (objectId: number, resourceId: number) => ResourceDefinition | undefined): ResourceEntry[] {
  const entries: ResourceEntry[] = [];
  const objectId = base.objectId;
  const definitionOf = (resourceId: number) => {
    const definition = lookup(objectId, resourceId);
    if (!definition) throw new ContentError(`resource /${objectId}/*/${resourceId} is not defined`);
    return definition;
  };
  const resource = (instanceId: number, item: Tlv) => {
    const definition = definitionOf(item.id);
    if (item.kind === TlvKind.Resource) {
      entries.push({ path: { objectId, instanceId, resourceId: item.id }, value: decodeTlvValue(definition, item.value), type: definition.type });
    } else if (item.kind === TlvKind.MultipleResource) {
      for (const inner of parseTlvs(item.value)) {
        if (inner.kind !== TlvKind.ResourceInstance) throw new ContentError("a multiple resource may only hold resource instances");
        entries.push({ path: { objectId, instanceId, resourceId: item.id, resourceInstanceId: inner.id }, value: decodeTlvValue(definition, inner.value), type: definition.type });
      }
    } else throw new ContentError("unexpected TLV kind at resource level");
  };
  const top = parseTlvs(bytes);
  if (base.resourceInstanceId !== undefined) {
    // A resource-instance path names the instance: the TLV must be that one resource instance.
    const item = top[0];
    if (top.length !== 1 || item!.kind !== TlvKind.ResourceInstance || item!.id !== base.resourceInstanceId) throw new ContentError(`TLV written to ${formatPath(base)} must be resource instance ${base.resourceInstanceId}`);
    const definition = definitionOf(base.resourceId!);
    entries.push({ path: base, value: decodeTlvValue(definition, item!.value), type: definition.type });
    return entries;
  }
  if (base.resourceId !== undefined) {
    const instanceId = base.instanceId!;
    for (const item of top) {
      if (item.kind === TlvKind.ResourceInstance) {
        const definition = definitionOf(base.resourceId);
        entries.push({ path: { objectId, instanceId, resourceId: base.resourceId, resourceInstanceId: item.id }, value: decodeTlvValue(definition, item.value), type: definition.type });
      } else {
        if (item.id !== base.resourceId) throw new ContentError(`TLV for resource ${item.id} written to resource ${base.resourceId}`);
        resource(instanceId, item);
      }
    }
    return entries;
  }
  if (base.instanceId !== undefined) {
    for (const item of top) {
      if (item.kind === TlvKind.ObjectInstance) {
        if (item.id !== base.instanceId) throw new ContentError(`TLV for instance ${item.id} written to instance ${base.instanceId}`);
        for (const inner of parseTlvs(item.value)) resource(base.instanceId, inner);
      } else resource(base.instanceId, item);
    }
    return entries;
  }
  for (const item of top) {
    if (item.kind !== TlvKind.ObjectInstance) throw new ContentError("object-level TLV must hold object instances");
    for (const inner of parseTlvs(item.value)) resource(item.id, inner);
  }
  return entries;
}

/** Object-instance ids present in an object-level TLV (Create without a path instance). */
export function tlvInstanceIds(bytes: Uint8Array): number[] {
  return parseTlvs(bytes)
    .filter((item) => item.kind === TlvKind.ObjectInstance)
    .map((item) => item.id);
}
