import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { ObjectId } from "../objects/object-ids.js";
import type { LwM2mPath } from "../path.js";
import { dropAccessControlOf } from "./access.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, UNAUTHORIZED, type DmContext } from "./context.js";

/**
 * Delete (§6.3.7): removes an object instance. The application protects its
 * own instances with the object's `deleting` hook (ObjectHooks).
 */
export function deleteInstance(context: DmContext, path: LwM2mPath): OutgoingResponse {
  if ((path.objectId === ObjectId.Security || path.objectId === ObjectId.Server) && !context.bootstrap) return UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  if (!object) return NOT_FOUND;
  if (path.instanceId === undefined || path.resourceId !== undefined) return METHOD_NOT_ALLOWED;
  const instance = object.instance(path.instanceId);
  if (!instance) return NOT_FOUND;
  // The instance of a mandatory single-instance object (Device) must always exist: 4.05 (Core §6.3.7).
  if (object.definition.mandatory && !object.definition.multiple) return METHOD_NOT_ALLOWED;
  const refused = object.hooks.deleting?.(instance);
  if (typeof refused === "number") return { code: refused };
  object.deleteInstance(path.instanceId);
  dropAccessControlOf(context.store, path.objectId, path.instanceId);
  context.attributes.clearBelow(path);
  return { code: ResponseCode.Deleted };
}
