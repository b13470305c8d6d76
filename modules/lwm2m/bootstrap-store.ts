import type { SettingsStore } from "../../hal/storage.js";
import { decodeTlv, encodeTlv } from "./content/tlv.js";
import type { ObjectStore } from "./model/object-store.js";
import type { ResourceEntry } from "./model/values.js";
import { ObjectId } from "./objects/object-ids.js";

/** Settings keys holding the bootstrapped Security (/0) and Server (/1) objects as OMA-TLV. */
const KEYS: Readonly<Record<number, string>> = Object.freeze({ [ObjectId.Security]: "lwm2m.bs.0", [ObjectId.Server]: "lwm2m.bs.1" });
const SAVED_OBJECTS: readonly number[] = Object.freeze([ObjectId.Security, ObjectId.Server]);

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

/** Persists /0 and /1 after a successful Bootstrap-Finish. */
export function saveBootstrapConfig(store: ObjectStore, settings: SettingsStore): void {
  for (const objectId of SAVED_OBJECTS) {
    const { entries, multiple } = entriesOf(store, objectId);
    settings.set(KEYS[objectId]!, encodeTlv({ objectId }, entries, multiple));
  }
}

/** Restores /0 and /1 saved by saveBootstrapConfig; false when none is stored or it does not decode. */
export function loadBootstrapConfig(store: ObjectStore, settings: SettingsStore): boolean {
  const saved = SAVED_OBJECTS.map((objectId) => settings.get(KEYS[objectId]!));
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
  for (const key of Object.values(KEYS)) settings.delete(key);
}
