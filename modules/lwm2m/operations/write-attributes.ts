import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { AttributeError, parseAttributeQueries } from "../attributes.js";
import { ObjectId } from "../objects/object-ids.js";
import type { LwM2mPath } from "../path.js";
import { NOT_FOUND, status, UNAUTHORIZED, type DmContext } from "./context.js";

const NUMERIC_TYPES: readonly string[] = Object.freeze(["integer", "unsigned", "float", "time"]);

/** Write-Attributes (§6.3.4): PUT with attribute queries and no payload. */
export function writeAttributes(context: DmContext, path: LwM2mPath, queries: readonly string[]): OutgoingResponse {
  if (path.objectId === ObjectId.Security) return UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  if (!object) return NOT_FOUND;
  const instance = path.instanceId === undefined ? undefined : object.instance(path.instanceId);
  if (path.instanceId !== undefined && !instance) return NOT_FOUND;
  let numeric: boolean | undefined;
  if (path.resourceId !== undefined) {
    // Attributes attach only to what exists: a served resource, a present resource instance.
    const definition = object.resource(path.resourceId);
    if (!definition || !instance!.has(path.resourceId)) return NOT_FOUND;
    if (path.resourceInstanceId !== undefined) {
      const content = instance!.get(path.resourceId);
      if (!(content instanceof Map) || !content.has(path.resourceInstanceId)) return NOT_FOUND;
    }
    numeric = NUMERIC_TYPES.indexOf(definition.type) >= 0;
  }
  try {
    context.attributes.apply(path, parseAttributeQueries(queries, numeric));
  } catch (error) {
    if (error instanceof AttributeError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
  return { code: ResponseCode.Changed };
}
