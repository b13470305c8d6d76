import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { runWriteHooks, type ObjectInstance, type ResourceContent } from "../model/object-store.js";
import { canWrite, type ResourceValue } from "../model/types.js";
import { checkValue, ContentError } from "../model/values.js";
import { ObjectId } from "../objects/object-ids.js";
import { formatPath, pathContains, type LwM2mPath } from "../path.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, status, UNAUTHORIZED, type DmContext } from "./context.js";
import { decodePayload } from "./decode-payload.js";

export type WriteMode = "replace" | "update";

/**
 * Write (§6.3.3): PUT replaces, POST updates part of an instance. Every value
 * is decoded and checked against its definition before anything is stored,
 * so a bad payload changes nothing.
 */
export function write(context: DmContext, path: LwM2mPath, format: number | undefined, payload: Uint8Array, mode: WriteMode): OutgoingResponse {
  if (path.objectId === ObjectId.Security && !context.bootstrap) return UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  if (!object) return NOT_FOUND;
  if (path.instanceId === undefined) return METHOD_NOT_ALLOWED;
  const instance = object.instance(path.instanceId);
  if (!instance) return NOT_FOUND;
  if (path.resourceId !== undefined) {
    const definition = object.resource(path.resourceId);
    if (!definition) return NOT_FOUND;
    if (!canWrite(definition) && !context.bootstrap) return METHOD_NOT_ALLOWED;
  }
  const entries = decodePayload(context, path, format, payload);
  if (!Array.isArray(entries)) return entries;
  const grouped = new Map<number, ResourceContent>();
  try {
    for (const entry of entries) {
      const definition = object.resource(entry.path.resourceId!)!;
      if (!canWrite(definition) && !context.bootstrap) return METHOD_NOT_ALLOWED;
      if (entry.path.instanceId !== path.instanceId) return status(ResponseCode.BadRequest, "payload names another instance");
      // Whatever the format, the path written to wins: a value for another resource or resource instance is bad content.
      if (!pathContains(path, entry.path)) return status(ResponseCode.BadRequest, `payload names ${formatPath(entry.path)}, outside ${formatPath(path)}`);
      const value = checkValue(definition, entry.value);
      if (entry.path.resourceInstanceId !== undefined) {
        if (!definition.multiple) return status(ResponseCode.BadRequest, `resource ${definition.id} is single`);
        const current = grouped.get(definition.id);
        const map = current instanceof Map ? current : new Map<number, ResourceValue>();
        map.set(entry.path.resourceInstanceId, value);
        grouped.set(definition.id, map);
      } else {
        if (definition.multiple) return status(ResponseCode.BadRequest, `resource ${definition.id} is multiple`);
        grouped.set(definition.id, value);
      }
    }
  } catch (error) {
    if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
  // The hooks see what this request wrote (a command arriving on /19/1/0/n, say), not the merged result.
  const refused = runWriteHooks(Array.from(grouped, ([resourceId, content]) => ({ instance, resourceId, content })));
  if (refused !== undefined) return { code: refused };
  for (const [resourceId, content] of grouped) instance.set(resourceId, merged(instance, resourceId, content, path, mode));
  return { code: ResponseCode.Changed };
}

/** A written multiple resource replaces the old instances, except for a partial update or a resource-instance write. */
function merged(instance: ObjectInstance, resourceId: number, content: ResourceContent, path: LwM2mPath, mode: WriteMode): ResourceContent {
  if (!(content instanceof Map)) return content;
  const keep = mode === "update" || path.resourceInstanceId !== undefined;
  const current = instance.get(resourceId);
  if (!keep || !(current instanceof Map)) return content;
  const result = new Map(current);
  for (const [id, value] of content) result.set(id, value);
  return result;
}
