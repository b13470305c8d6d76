import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { encodeRead } from "../content/formats.js";
import type { LwM2mObject, ObjectInstance } from "../model/object-store.js";
import { canRead, type ResourceDefinition } from "../model/types.js";
import type { ResourceEntry } from "../model/values.js";
import { ObjectId } from "../objects/object-ids.js";
import type { LwM2mPath } from "../path.js";
import { mayRead } from "./access.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, UNAUTHORIZED, type DmContext } from "./context.js";

export type Collected = { readonly entries: ResourceEntry[]; readonly single: ResourceDefinition | undefined } | { readonly error: OutgoingResponse };

function instanceEntries(object: LwM2mObject, instance: ObjectInstance, only?: number, onlyInstance?: number): ResourceEntry[] {
  const entries: ResourceEntry[] = [];
  for (const resourceId of instance.resourceIds()) {
    if (only !== undefined && resourceId !== only) continue;
    const definition = object.resource(resourceId);
    if (!definition || !canRead(definition)) continue;
    const content = instance.get(resourceId);
    if (content === undefined) continue;
    const base = { objectId: object.id, instanceId: instance.id, resourceId };
    if (content instanceof Map) {
      for (const riid of Array.from(content.keys()).sort((a, b) => a - b)) {
        if (onlyInstance !== undefined && riid !== onlyInstance) continue;
        entries.push({ path: { ...base, resourceInstanceId: riid }, value: content.get(riid)!, type: definition.type });
      }
    } else if (onlyInstance === undefined) entries.push({ path: base, value: content, type: definition.type });
  }
  return entries;
}

/** The readable values under `path`, or the error a Read of it gets. */
export function collect(context: DmContext, path: LwM2mPath): Collected {
  if (path.objectId === ObjectId.Security && !context.bootstrap) return { error: UNAUTHORIZED };
  const object = context.store.get(path.objectId);
  if (!object) return { error: NOT_FOUND };
  if (path.instanceId === undefined) {
    // Under Access Control an object-level Read, Observe or notification carries only the instances the server may read (Core §7.3.2.4).
    const entries: ResourceEntry[] = [];
    for (const id of object.instanceIds()) if (mayRead(context, object.id, id)) entries.push(...instanceEntries(object, object.instance(id)!));
    return { entries, single: undefined };
  }
  const instance = object.instance(path.instanceId);
  if (!instance) return { error: NOT_FOUND };
  // Checked here too so that no notification carries what the server may no longer read (Core §7.3.2.5).
  if (!mayRead(context, object.id, instance.id)) return { error: UNAUTHORIZED };
  if (path.resourceId === undefined) return { entries: instanceEntries(object, instance), single: undefined };
  const definition = object.resource(path.resourceId);
  if (!definition) return { error: NOT_FOUND };
  if (!canRead(definition)) return { error: METHOD_NOT_ALLOWED };
  if (!instance.has(path.resourceId)) return { error: NOT_FOUND };
  const entries = instanceEntries(object, instance, path.resourceId, path.resourceInstanceId);
  if (path.resourceInstanceId !== undefined && entries.length === 0) return { error: NOT_FOUND };
  return { entries, single: path.resourceInstanceId === undefined ? definition : { ...definition, multiple: false } };
}

/** Read (OMA-TS-LightweightM2M_Core §6.3.1). */
export function read(context: DmContext, path: LwM2mPath, accept: number | undefined): OutgoingResponse {
  const collected = collect(context, path);
  if ("error" in collected) return collected.error;
  const encoded = encodeRead(path, collected.entries, collected.single, accept);
  if ("notAcceptable" in encoded) return { code: ResponseCode.NotAcceptable };
  return { code: ResponseCode.Content, contentFormat: encoded.format, payload: encoded.payload };
}
