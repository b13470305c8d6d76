import type { LwM2mPath } from "../path.js";
import { isObjectLink, type ResourceDefinition, type ResourceType, type ResourceValue } from "./types.js";

/** One resource value at a full path (object/instance/resource[/resource-instance]). */
export interface ResourceEntry {
  readonly path: LwM2mPath;
  readonly value: ResourceValue;
  readonly type: ResourceType;
}

/** A payload that cannot be decoded, or a value of the wrong type or out of range: answered with 4.00. */
export class ContentError extends Error {
  constructor(message: string) {
    super(message);
    // Defined, not assigned: a frozen Error.prototype (Moddable preload) makes its read-only `name` refuse assignment.
    Object.defineProperty(this, "name", { value: "ContentError", writable: true, configurable: true });
  }
}

/** Checks a value against its definition; returns the value normalised to the definition's type. */
export function checkValue(definition: ResourceDefinition, value: ResourceValue): ResourceValue {
  const where = `resource ${definition.id} (${definition.name})`;
  switch (definition.type) {
    case "integer":
    case "unsigned":
    case "time": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw new ContentError(`${where} needs an integer`);
      if (definition.type === "unsigned" && value < 0) throw new ContentError(`${where} needs an unsigned integer`);
      break;
    }
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value)) throw new ContentError(`${where} needs a number`);
      break;
    case "boolean":
      if (typeof value !== "boolean") throw new ContentError(`${where} needs a boolean`);
      break;
    case "string":
    case "corelnk":
      if (typeof value !== "string") throw new ContentError(`${where} needs a string`);
      break;
    case "opaque":
      if (!(value instanceof Uint8Array)) throw new ContentError(`${where} needs opaque bytes`);
      break;
    case "objlnk":
      if (!isObjectLink(value)) throw new ContentError(`${where} needs an object link`);
      break;
    case "none":
      throw new ContentError(`${where} is executable and holds no value`);
  }
  const range = definition.range;
  if (range) {
    const measure = typeof value === "number" ? value : typeof value === "string" ? value.length : value instanceof Uint8Array ? value.length : undefined;
    if (measure !== undefined && (measure < range[0] || measure > range[1])) throw new ContentError(`${where}: ${String(measure)} is outside ${range[0]}..${range[1]}`);
  }
  return value;
}
