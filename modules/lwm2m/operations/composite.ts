import { ContentFormat, ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { decodeSenmlCbor, decodeSenmlJson, decodeSenmlPaths, encodeSenmlCbor, encodeSenmlJson } from "../content/senml.js";
import { runWriteHooks, type ObjectInstance, type ResourceContent } from "../model/object-store.js";
import { canWrite, type ResourceValue } from "../model/types.js";
import { checkValue, ContentError, type ResourceEntry } from "../model/values.js";
import { ObjectId } from "../objects/object-ids.js";
import { formatPath, type LwM2mPath } from "../path.js";
import { checkAccess } from "./access.js";
import { lookupDefinition, METHOD_NOT_ALLOWED, NOT_FOUND, status, type DmContext } from "./context.js";
import { collect } from "./read.js";

function senmlKind(format: number | undefined): "json" | "cbor" | undefined {
  return format === ContentFormat.SenmlJson ? "json" : format === ContentFormat.SenmlCbor ? "cbor" : undefined;
}

/** The paths of a Read-Composite or Observe-Composite request (FETCH on /), or the error it gets. */
export function compositePaths(format: number | undefined, payload: Uint8Array): LwM2mPath[] | OutgoingResponse {
  const kind = senmlKind(format);
  if (!kind) return status(ResponseCode.UnsupportedContentFormat, "composite requests carry SenML JSON or CBOR");
  try {
    const paths = decodeSenmlPaths(kind, payload);
    return paths.length ? paths : status(ResponseCode.BadRequest, "no paths");
  } catch (error) {
    if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
}

/**
 * Read-Composite (LwM2M 1.1 §6.3.8): the values under every path, in one
 * SenML payload. Paths that cannot be read are left out (a partial answer);
 * when none can be read the answer is 4.04.
 */
export function readComposite(context: DmContext, paths: readonly LwM2mPath[], accept: number | undefined, requestFormat: number | undefined): OutgoingResponse {
  const format = accept ?? requestFormat ?? ContentFormat.SenmlCbor;
  if (!senmlKind(format)) return { code: ResponseCode.NotAcceptable };
  const entries: ResourceEntry[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (checkAccess(context, path, "Read")) continue;
    const collected = collect(context, path);
    if ("error" in collected) continue;
    for (const entry of collected.entries) {
      const key = formatPath(entry.path);
      if (!seen.has(key)) (seen.add(key), entries.push(entry));
    }
  }
  if (entries.length === 0) return NOT_FOUND;
  const payload = format === ContentFormat.SenmlJson ? encodeSenmlJson(undefined, entries) : encodeSenmlCbor(undefined, entries);
  return { code: ResponseCode.Content, contentFormat: format, payload };
}

/** Write-Composite (§6.3.9, iPATCH on /): every value is checked first; nothing is written unless all can be. */
export function writeComposite(context: DmContext, format: number | undefined, payload: Uint8Array): OutgoingResponse {
  const kind = senmlKind(format);
  if (!kind) return status(ResponseCode.UnsupportedContentFormat, "Write-Composite carries SenML JSON or CBOR");
  let entries: ResourceEntry[];
  try {
    entries = kind === "json" ? decodeSenmlJson(undefined, payload, lookupDefinition(context)) : decodeSenmlCbor(undefined, payload, lookupDefinition(context));
  } catch (error) {
    if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
  const writes: { instance: ObjectInstance; resourceId: number; content: ResourceContent }[] = [];
  try {
    for (const entry of entries) {
      if (entry.path.objectId === ObjectId.Security) return { code: ResponseCode.Unauthorized };
      const denied = checkAccess(context, entry.path, "Write");
      if (denied) return denied;
      const object = context.store.get(entry.path.objectId);
      const instance = object?.instance(entry.path.instanceId!);
      const definition = object?.resource(entry.path.resourceId!);
      if (!object || !instance || !definition) return NOT_FOUND;
      if (!canWrite(definition)) return METHOD_NOT_ALLOWED;
      // A resource instance of a single resource, or a multiple resource written as one value, is not in the data model.
      if ((entry.path.resourceInstanceId !== undefined) !== definition.multiple) return status(ResponseCode.BadRequest, `${formatPath(entry.path)}: resource ${definition.id} is ${definition.multiple ? "multiple" : "single"}`);
      const value = checkValue(definition, entry.value);
      if (entry.path.resourceInstanceId !== undefined) {
        const current = instance.get(definition.id);
        const map = new Map<number, ResourceValue>(current instanceof Map ? current : []);
        const pending = writes.find((w) => w.instance === instance && w.resourceId === definition.id);
        const target = pending && pending.content instanceof Map ? pending.content : map;
        target.set(entry.path.resourceInstanceId, value);
        if (!pending) writes.push({ instance, resourceId: definition.id, content: target });
      } else writes.push({ instance, resourceId: definition.id, content: value });
    }
  } catch (error) {
    if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
  const refused = runWriteHooks(writes);
  if (refused !== undefined) return { code: refused };
  for (const write of writes) write.instance.set(write.resourceId, write.content);
  return { code: ResponseCode.Changed };
}
