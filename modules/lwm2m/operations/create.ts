import { ContentFormat, ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { canonicalFormat } from "../content/formats.js";
import { decodeSenmlPaths } from "../content/senml.js";
import { tlvInstanceIds } from "../content/tlv.js";
import { ContentError } from "../model/values.js";
import { ObjectId } from "../objects/object-ids.js";
import { MAX_ID, type LwM2mPath } from "../path.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, status, UNAUTHORIZED, type DmContext } from "./context.js";
import { write } from "./write.js";

/** Create (§6.3.6): POST on an object; the new instance id comes from the payload or is the lowest free one. */
export function create(context: DmContext, path: LwM2mPath, format: number | undefined, payload: Uint8Array): OutgoingResponse {
  if (path.objectId === ObjectId.Security || path.objectId === ObjectId.Server) return context.bootstrap ? METHOD_NOT_ALLOWED : UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  if (!object) return NOT_FOUND;
  if (!object.definition.multiple && object.instanceIds().length > 0) return status(ResponseCode.BadRequest, "single-instance object already has its instance");
  let instanceId = object.freeId();
  let target: LwM2mPath = { objectId: object.id, instanceId };
  const canonical = format === undefined ? undefined : canonicalFormat(format);
  const senml = canonical === ContentFormat.SenmlJson ? "json" : canonical === ContentFormat.SenmlCbor ? "cbor" : undefined;
  if (canonical === ContentFormat.LwM2mTlv || (senml && payload.length > 0)) {
    // The instance id the payload names is the one created: the TLV object instance, or the instance in every SenML name.
    let ids: number[];
    try {
      ids = senml ? distinct(decodeSenmlPaths(senml, payload).map((named) => named.instanceId)) : tlvInstanceIds(payload);
    } catch (error) {
      if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
      throw error;
    }
    if (ids.length > 1) return status(ResponseCode.BadRequest, "create one instance at a time");
    if (ids.length === 1) {
      instanceId = ids[0]!;
      target = { objectId: object.id, instanceId };
    }
  }
  if (instanceId > MAX_ID) return status(ResponseCode.BadRequest, "instance id out of range");
  if (object.instance(instanceId)) return status(ResponseCode.BadRequest, `instance ${instanceId} exists`);
  const instance = object.createInstance(instanceId);
  const written = payload.length > 0 ? write({ ...context, bootstrap: true }, target, format, payload, "replace") : { code: ResponseCode.Changed };
  if (written.code !== ResponseCode.Changed) {
    object.deleteInstance(instanceId);
    return written;
  }
  const refused = object.hooks.created?.(instance);
  if (typeof refused === "number") {
    object.deleteInstance(instanceId);
    return { code: refused };
  }
  return { code: ResponseCode.Created, locationPath: [String(object.id), String(instanceId)] };
}

/** The distinct instance ids SenML names carry; a name without one is bad content. */
function distinct(ids: readonly (number | undefined)[]): number[] {
  const out: number[] = [];
  for (const id of ids) {
    if (id === undefined) throw new ContentError("every SenML name in a Create must name the instance");
    if (out.indexOf(id) < 0) out.push(id);
  }
  return out;
}
