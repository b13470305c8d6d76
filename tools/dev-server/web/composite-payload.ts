import { codeClass, codeString, ContentFormat } from "../../../modules/coap/constants.js";
import { toHex, utf8Decode } from "../../../modules/coap/message.js";
import { decodeSenmlCbor, decodeSenmlJson } from "../../../modules/lwm2m/content/senml.js";
import type { ResourceDefinition } from "../../../modules/lwm2m/model/types.js";
import { formatPath } from "../../../modules/lwm2m/path.js";
import type { DmResult } from "../server.js";

/**
 * Decodes the answer of a Read-Composite or an Observe-Composite
 * notification: SenML with absolute names, typed by the models. Values of
 * resources no model describes are left out of `values` (the hex stays).
 */
export function decodeComposite(lookup: (objectId: number, resourceId: number) => ResourceDefinition | undefined, code: number, format: number | undefined, payload: Uint8Array): DmResult {
  const base = { code: codeString(code), success: codeClass(code) === 2, ...(format !== undefined ? { format } : {}), ...(payload.length ? { payloadHex: toHex(payload) } : {}) };
  if (!payload.length) return base;
  if (codeClass(code) !== 2 || (format !== ContentFormat.SenmlJson && format !== ContentFormat.SenmlCbor)) {
    return { ...base, text: utf8Decode(payload) };
  }
  try {
    const entries = format === ContentFormat.SenmlJson ? decodeSenmlJson(undefined, payload, lookup) : decodeSenmlCbor(undefined, payload, lookup);
    return { ...base, values: entries.map((entry) => ({ path: formatPath(entry.path), value: entry.value instanceof Uint8Array ? { hex: toHex(entry.value) } : entry.value })) };
  } catch (error) {
    return { ...base, text: `undecoded: ${(error as Error).message}` };
  }
}
