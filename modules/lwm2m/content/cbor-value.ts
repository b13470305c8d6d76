import type { ResourceDefinition, ResourceValue } from "../model/types.js";
import { ContentError } from "../model/values.js";
import { decodeCbor, encodeCbor } from "./cbor.js";

/** application/cbor (60, LwM2M 1.1 §7.4.7): one resource value as a CBOR data item; object links as "oid:iid" text. */
export function encodeCborValue(value: ResourceValue): Uint8Array {
  if (typeof value === "object" && !(value instanceof Uint8Array)) return encodeCbor(`${value.objectId}:${value.instanceId}`);
  return encodeCbor(value);
}

export function decodeCborValue(definition: ResourceDefinition, bytes: Uint8Array): ResourceValue {
  const item = decodeCbor(bytes);
  const where = `resource ${definition.id} (${definition.name})`;
  switch (definition.type) {
    case "integer":
    case "unsigned":
    case "time":
    case "float":
      if (typeof item !== "number") throw new ContentError(`${where} needs a CBOR number`);
      return item;
    case "boolean":
      if (typeof item !== "boolean") throw new ContentError(`${where} needs a CBOR boolean`);
      return item;
    case "opaque":
      if (!(item instanceof Uint8Array)) throw new ContentError(`${where} needs a CBOR byte string`);
      return item;
    case "objlnk": {
      const match = typeof item === "string" ? /^([0-9]{1,5}):([0-9]{1,5})$/.exec(item) : null;
      if (!match) throw new ContentError(`${where} needs "oid:iid"`);
      return { objectId: Number(match[1]), instanceId: Number(match[2]) };
    }
    case "none":
      throw new ContentError(`${where} holds no value`);
    default:
      if (typeof item !== "string") throw new ContentError(`${where} needs a CBOR text string`);
      return item;
  }
}
