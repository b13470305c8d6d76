/** The payload of a console Create from RES=VALUE words, typed by the object's definition. */
import { ContentFormat } from "../../modules/coap/constants.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ResourceDefinition } from "../../modules/lwm2m/model/types.js";
import { checkValue, type ResourceEntry } from "../../modules/lwm2m/model/values.js";
import type { LwM2mPath } from "../../modules/lwm2m/path.js";
import { toResourceValue } from "./resource-value.js";

export type DefinitionLookup = (objectId: number, resourceId: number) => ResourceDefinition | undefined;

/**
 * Encodes the resources of a new instance as OMA-TLV: for /OBJ the resources
 * alone (the client picks the instance ID), for /OBJ/INST inside an object
 * instance with that ID. Each word is RES=VALUE, or RES/RI=VALUE for one
 * instance of a multiple resource (RES=VALUE there is instance 0).
 */
export function encodeCreatePayload(lookup: DefinitionLookup, path: LwM2mPath, words: readonly string[]): { format: number; payload: Uint8Array } {
  if (path.resourceId !== undefined) throw new Error("create takes an object (/OBJ) or a new instance (/OBJ/INST)");
  const instanceId = path.instanceId ?? 0;
  const entries: ResourceEntry[] = [];
  const multiples = new Set<number>();
  for (const word of words) {
    const match = /^([0-9]+)(?:\/([0-9]+))?=(.*)$/s.exec(word);
    if (!match) throw new Error(`"${word}" is not RES=VALUE (or RES/RI=VALUE)`);
    const resourceId = Number(match[1]);
    const definition = lookup(path.objectId, resourceId);
    if (!definition) throw new Error(`resource ${resourceId} of object ${path.objectId} is unknown: give the payload as --hex HEX with --format`);
    if (match[2] !== undefined && !definition.multiple) throw new Error(`resource ${resourceId} (${definition.name}) is single: give it as ${resourceId}=VALUE`);
    const value = checkValue(definition, toResourceValue(match[3], definition.type));
    const resourceInstanceId = definition.multiple ? Number(match[2] ?? 0) : undefined;
    if (definition.multiple) multiples.add(resourceId);
    entries.push({ path: { objectId: path.objectId, instanceId, resourceId, ...(resourceInstanceId !== undefined ? { resourceInstanceId } : {}) }, value, type: definition.type });
  }
  // Without an instance ID the resources go alone (encoded below a dummy instance); with one, in an object instance TLV.
  const base: LwM2mPath = path.instanceId === undefined ? { objectId: path.objectId, instanceId } : { objectId: path.objectId };
  return { format: ContentFormat.LwM2mTlv, payload: encodeTlv(base, entries, multiples) };
}
