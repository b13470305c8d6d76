import { utf8Decode, utf8Encode } from "../../coap/message.js";
import { ContentError } from "../model/values.js";
import type { ResourceDefinition, ResourceValue } from "../model/types.js";
import { base64Decode, base64Encode } from "./base64.js";

const INTEGER = /^[+-]?[0-9]+$/;
const FLOAT = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

/** text/plain (LwM2M 1.1 §7.4.1): one resource value as text; opaque as base64, object links as "oid:iid". */
export function encodeText(definition: ResourceDefinition, value: ResourceValue): Uint8Array {
  return utf8Encode(formatText(definition, value));
}

export function formatText(definition: ResourceDefinition, value: ResourceValue): string {
  if (value instanceof Uint8Array) return base64Encode(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "object") return `${value.objectId}:${value.instanceId}`;
  if (typeof value === "number" && definition.type !== "float") return Math.trunc(value).toString();
  return String(value);
}

export function decodeText(definition: ResourceDefinition, bytes: Uint8Array): ResourceValue {
  const text = utf8Decode(bytes);
  const where = `resource ${definition.id} (${definition.name})`;
  switch (definition.type) {
    case "integer":
    case "unsigned":
    case "time": {
      if (!INTEGER.test(text)) throw new ContentError(`${where}: "${text}" is not an integer`);
      const value = Number(text);
      if (!Number.isSafeInteger(value)) throw new ContentError(`${where}: ${text} is out of range`);
      return value;
    }
    case "float":
      if (!FLOAT.test(text)) throw new ContentError(`${where}: "${text}" is not a number`);
      return Number(text);
    case "boolean":
      if (text !== "0" && text !== "1") throw new ContentError(`${where}: "${text}" is not 0 or 1`);
      return text === "1";
    case "opaque": {
      const bytesValue = base64Decode(text);
      if (!bytesValue) throw new ContentError(`${where}: not base64`);
      return bytesValue;
    }
    case "objlnk": {
      const match = /^([0-9]{1,5}):([0-9]{1,5})$/.exec(text);
      if (!match) throw new ContentError(`${where}: "${text}" is not an object link`);
      return { objectId: Number(match[1]), instanceId: Number(match[2]) };
    }
    case "none":
      throw new ContentError(`${where} holds no value`);
    default:
      return text;
  }
}
