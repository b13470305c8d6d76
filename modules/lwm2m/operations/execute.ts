import { ResponseCode } from "../../coap/constants.js";
import { utf8Decode } from "../../coap/message.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { canExecute } from "../model/types.js";
import { ObjectId } from "../objects/object-ids.js";
import type { LwM2mPath } from "../path.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, status, UNAUTHORIZED, type DmContext } from "./context.js";

/** Execute arguments (§5.4.5): digit, optionally ='value', separated by commas. */
const ARGUMENTS = /^([0-9](='[!#-&(-[\]-~ ]*')?)(,[0-9](='[!#-&(-[\]-~ ]*')?)*$/;

/** Execute (§6.3.5): POST on an executable resource, with optional arguments. */
export function execute(context: DmContext, path: LwM2mPath, payload: Uint8Array): OutgoingResponse {
  if (path.objectId === ObjectId.Security) return UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  if (!object || path.instanceId === undefined || path.resourceId === undefined) return object ? METHOD_NOT_ALLOWED : NOT_FOUND;
  const instance = object.instance(path.instanceId);
  const definition = object.resource(path.resourceId);
  if (!instance || !definition) return NOT_FOUND;
  if (!canExecute(definition) || path.resourceInstanceId !== undefined) return METHOD_NOT_ALLOWED;
  const args = utf8Decode(payload);
  if (args.length > 0 && !ARGUMENTS.test(args)) return status(ResponseCode.BadRequest, "malformed Execute arguments");
  const hooks = instance.hooksOf(path.resourceId);
  const handler = hooks?.execute;
  if (!handler) return status(ResponseCode.MethodNotAllowed, "nothing handles this Execute");
  if (hooks.executeAfterResponse) {
    context.defer(() => handler.call(hooks, args));
    return { code: ResponseCode.Changed };
  }
  const refused = handler.call(hooks, args);
  return { code: typeof refused === "number" ? refused : ResponseCode.Changed };
}
