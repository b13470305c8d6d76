import { MAX_SETTING_VALUE_BYTES, type SettingsStore } from "../../hal/storage.js";
import { decodeTlv, encodeTlv } from "./content/tlv.js";
import type { ObjectStore } from "./model/object-store.js";
import type { ResourceEntry } from "./model/values.js";
import { ObjectId } from "./objects/object-ids.js";

/**
 * The bootstrapped Security (/0) and Server (/1) objects are kept as OMA-TLV,
 * split over numbered settings keys because one value holds at most
 * MAX_SETTING_VALUE_BYTES: "lwm2m.bs.<object>" holds the chunk count and
 * "lwm2m.bs.<object>.<n>" the chunks. (An older build kept the TLV itself
 * under "lwm2m.bs.<object>"; it is still read.)
 */
const SAVED_OBJECTS: readonly number[] = Object.freeze([ObjectId.Security, ObjectId.Server]);
/** Most bytes of configuration (both objects' TLV) the client keeps; keys and certificates of a few servers fit. */
export const MAX_BOOTSTRAP_CONFIG_BYTES = 8192;
const MAX_CHUNKS_PER_OBJECT = Math.ceil(MAX_BOOTSTRAP_CONFIG_BYTES / MAX_SETTING_VALUE_BYTES);

const countKey = (objectId: number): string => `lwm2m.bs.${objectId}`;
const chunkKey = (objectId: number, index: number): string => `lwm2m.bs.${objectId}.${index}`;

function entriesOf(store: ObjectStore, objectId: number): { entries: ResourceEntry[]; multiple: Set<number> } {
  const object = store.get(objectId)!;
  const entries: ResourceEntry[] = [];
  const multiple = new Set<number>();
  for (const instanceId of object.instanceIds()) {
    const instance = object.instance(instanceId)!;
    for (const resourceId of instance.resourceIds()) {
      const definition = object.resource(resourceId);
      const content = instance.get(resourceId);
      if (!definition || content === undefined) continue;
      if (content instanceof Map) {
        multiple.add(resourceId);
        for (const [riid, value] of content) entries.push({ path: { objectId, instanceId, resourceId, resourceInstanceId: riid }, value, type: definition.type });
      } else entries.push({ path: { objectId, instanceId, resourceId }, value: content, type: definition.type });
    }
  }
  return { entries, multiple };
}

/**
 * Persists /0 and /1 (at Bootstrap-Finish, before it is answered). Returns
 * why the configuration cannot be kept (too large, or the store failed), or
 * undefined once it is kept. The counts are removed first and written last,
 * so an interrupted save leaves no configuration rather than a mixed one.
 */
export function saveBootstrapConfig(store: ObjectStore, settings: SettingsStore): string | undefined {
  const encoded = SAVED_OBJECTS.map((objectId) => {
    const { entries, multiple } = entriesOf(store, objectId);
    return encodeTlv({ objectId }, entries, multiple);
  });
  const total = encoded.reduce((sum, tlv) => sum + tlv.length, 0);
  if (total > MAX_BOOTSTRAP_CONFIG_BYTES) return `the configuration takes ${total} bytes; this device keeps at most ${MAX_BOOTSTRAP_CONFIG_BYTES} bytes`;
  try {
    clearBootstrapConfig(settings);
    SAVED_OBJECTS.forEach((objectId, index) => {
      const tlv = encoded[index]!;
      const chunks = Math.max(1, Math.ceil(tlv.length / MAX_SETTING_VALUE_BYTES));
      for (let n = 0; n < chunks; n++) settings.set(chunkKey(objectId, n), tlv.slice(n * MAX_SETTING_VALUE_BYTES, (n + 1) * MAX_SETTING_VALUE_BYTES));
    });
    SAVED_OBJECTS.forEach((objectId, index) => settings.set(countKey(objectId), Math.max(1, Math.ceil(encoded[index]!.length / MAX_SETTING_VALUE_BYTES))));
  } catch (error) {
    clearBootstrapConfig(settings);
    return `the configuration could not be kept: ${(error as Error).message}`;
  }
  return undefined;
}

/** The saved TLV of one object, joined from its chunks; undefined when absent or incomplete. */
function readSaved(settings: SettingsStore, objectId: number): Uint8Array | undefined {
  const head = settings.get(countKey(objectId));
  if (head instanceof Uint8Array) return head;
  if (typeof head !== "number" || !Number.isInteger(head) || head < 1 || head > MAX_CHUNKS_PER_OBJECT) return undefined;
  const chunks: Uint8Array[] = [];
  for (let n = 0; n < head; n++) {
    const chunk = settings.get(chunkKey(objectId, n));
    if (!(chunk instanceof Uint8Array)) return undefined;
    chunks.push(chunk);
  }
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/** Restores /0 and /1 saved by saveBootstrapConfig; false when none is stored or it does not decode. */
export function loadBootstrapConfig(store: ObjectStore, settings: SettingsStore): boolean {
  const saved = SAVED_OBJECTS.map((objectId) => readSaved(settings, objectId));
  if (!saved.every((value) => value instanceof Uint8Array)) return false;
  const decoded: ResourceEntry[][] = [];
  try {
    SAVED_OBJECTS.forEach((objectId, index) => decoded.push(decodeTlv({ objectId }, saved[index] as Uint8Array, (o, r) => store.get(o)?.resource(r))));
  } catch {
    return false;
  }
  for (const entries of decoded) {
    for (const entry of entries) {
      const object = store.get(entry.path.objectId)!;
      const instance = object.instance(entry.path.instanceId!) ?? object.createInstance(entry.path.instanceId!);
      if (entry.path.resourceInstanceId !== undefined) instance.setInstance(entry.path.resourceId!, entry.path.resourceInstanceId, entry.value);
      else instance.set(entry.path.resourceId!, entry.value);
    }
  }
  return true;
}

export function clearBootstrapConfig(settings: SettingsStore): void {
  for (const objectId of SAVED_OBJECTS) {
    settings.delete(countKey(objectId));
    for (let n = 0; n < MAX_CHUNKS_PER_OBJECT; n++) settings.delete(chunkKey(objectId, n));
  }
}
