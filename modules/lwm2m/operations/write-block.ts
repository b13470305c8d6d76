import { ContentFormat, Method, OptionNumber, ResponseCode } from "../../coap/constants.js";
import type { Block1Info } from "../../coap/endpoint.js";
import { getUintOption, getUriPath, type CoapMessage } from "../../coap/message.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { canonicalFormat } from "../content/formats.js";
import type { ObjectStore } from "../model/object-store.js";
import { canWrite } from "../model/types.js";
import { ObjectId } from "../objects/object-ids.js";
import { parsePath, pathLevel, type LwM2mPath } from "../path.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, UNAUTHORIZED, type DmContext } from "./context.js";

/**
 * Whether a Write goes to the resource's writeBlock hook instead of being
 * decoded whole: a PUT (Write, replace) of one single opaque resource whose
 * hooks have writeBlock, as application/octet-stream or without a
 * Content-Format. (A POST to a resource is Execute, so it never streams.)
 */
export function streamsWrite(store: ObjectStore, method: number, path: LwM2mPath | undefined, contentFormat: number | undefined): boolean {
  if (method !== Method.PUT || !path || pathLevel(path) !== "resource") return false;
  if (contentFormat !== undefined && canonicalFormat(contentFormat) !== ContentFormat.OctetStream) return false;
  const object = store.get(path.objectId);
  const definition = object?.resource(path.resourceId!);
  if (!definition || definition.type !== "opaque" || definition.multiple) return false;
  return typeof object!.instance(path.instanceId!)?.hooksOf(path.resourceId!)?.writeBlock === "function";
}

/** The endpoint's streamsBlock1 test for a request to the LwM2M client (see streamsWrite). */
export function streamsWriteRequest(store: ObjectStore, message: CoapMessage): boolean {
  return streamsWrite(store, message.code, parsePath(getUriPath(message)), getUintOption(message, OptionNumber.ContentFormat));
}

/**
 * One block of a streamed Write, or a whole small one sent in one message
 * (offset 0, no more): the checks of Write run for every block (the resource
 * exists and is writable, the Security object only for the bootstrap
 * server), then writeBlock(offset, data, more). Its refusal code is the
 * answer, which ends the transfer; 2.04 takes the block (2.31 Continue on
 * the wire while more follow). Nothing is stored in the instance.
 */
export function writeBlock(context: DmContext, path: LwM2mPath, block1: Block1Info | undefined, payload: Uint8Array): OutgoingResponse {
  if (path.objectId === ObjectId.Security && !context.bootstrap) return UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  const instance = path.instanceId === undefined ? undefined : object?.instance(path.instanceId);
  const definition = path.resourceId === undefined ? undefined : object?.resource(path.resourceId);
  if (!object || !instance || !definition) return NOT_FOUND;
  if (!canWrite(definition) && !context.bootstrap) return METHOD_NOT_ALLOWED;
  const hooks = instance.hooksOf(definition.id);
  if (!hooks?.writeBlock || definition.type !== "opaque" || definition.multiple) return METHOD_NOT_ALLOWED;
  const refused = hooks.writeBlock(block1?.offset ?? 0, payload, block1?.more ?? false);
  return typeof refused === "number" ? { code: refused } : { code: ResponseCode.Changed };
}
