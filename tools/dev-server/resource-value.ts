import { utf8Encode } from "../../modules/coap/message.js";
import type { ResourceValue } from "../../modules/lwm2m/model/types.js";

/** A value from the console or JSON (text, number, {hex}) as the resource type wants it; checkValue() then validates it. */
export function toResourceValue(value: unknown, type: string): ResourceValue {
  if (type === "opaque") {
    if (value && typeof value === "object" && typeof (value as { hex?: unknown }).hex === "string") {
      const hex = (value as { hex: string }).hex;
      if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error("hex must be pairs of hex digits");
      return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
    }
    if (typeof value === "string") return utf8Encode(value);
  }
  if ((type === "integer" || type === "unsigned" || type === "time" || type === "float") && typeof value === "string" && value.trim() !== "") return Number(value);
  if (type === "boolean" && (value === "true" || value === "false" || value === "1" || value === "0")) return value === "true" || value === "1";
  if (type === "objlnk" && typeof value === "string" && /^[0-9]+:[0-9]+$/.test(value)) {
    const [objectId, instanceId] = value.split(":").map(Number) as [number, number];
    return { objectId, instanceId };
  }
  return value as ResourceValue;
}
