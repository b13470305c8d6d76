import { ContentFormat, ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { encodeLinks, type Link } from "../content/link-format.js";
import type { ResourceValue } from "../model/types.js";
import { checkValue, ContentError } from "../model/values.js";
import type { ObjectStore } from "../model/object-store.js";
import { ObjectId } from "../objects/object-ids.js";
import { SecurityResource } from "../objects/security.js";
import { ServerResource } from "../objects/server.js";
import { formatPath, type LwM2mPath } from "../path.js";
import { readAccountSecurity } from "../account-security.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, status, type DmContext } from "./context.js";
import { decodePayload } from "./decode-payload.js";
import { read } from "./read.js";

/** The Security instance of the bootstrap server itself (Bootstrap-Server = true). */
export function bootstrapAccountId(store: ObjectStore): number | undefined {
  const security = store.get(ObjectId.Security);
  return security?.instanceIds().find((id) => security.instance(id)!.get(SecurityResource.BootstrapServer) === true);
}

/**
 * Bootstrap-Write (OMA-TS-LightweightM2M_Transport §6.1.7.3): like Write,
 * but on any object including Security, and it creates missing instances.
 */
export function bootstrapWrite(context: DmContext, path: LwM2mPath, format: number | undefined, payload: Uint8Array): OutgoingResponse {
  const object = context.store.get(path.objectId);
  if (!object) return NOT_FOUND;
  const entries = decodePayload(context, path, format, payload);
  if (!Array.isArray(entries)) return entries;
  const values = new Map<number, Map<number, ResourceValue | Map<number, ResourceValue>>>();
  try {
    for (const entry of entries) {
      const definition = object.resource(entry.path.resourceId!);
      if (!definition) return NOT_FOUND;
      if (definition.operations === "E") return METHOD_NOT_ALLOWED;
      const value = checkValue(definition, entry.value);
      const instanceId = entry.path.instanceId!;
      if (!values.has(instanceId)) values.set(instanceId, new Map());
      const resources = values.get(instanceId)!;
      if (entry.path.resourceInstanceId !== undefined) {
        const current = resources.get(definition.id);
        const map = current instanceof Map ? current : new Map<number, ResourceValue>();
        map.set(entry.path.resourceInstanceId, value);
        resources.set(definition.id, map);
      } else resources.set(definition.id, value);
    }
  } catch (error) {
    if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
  for (const [instanceId, resources] of values) {
    const instance = object.instance(instanceId) ?? (object.definition.multiple || object.instanceIds().length === 0 ? object.createInstance(instanceId) : undefined);
    if (!instance) return status(ResponseCode.BadRequest, `object ${object.id} is single-instance`);
    for (const [resourceId, value] of resources) instance.set(resourceId, value);
  }
  return { code: ResponseCode.Changed };
}

/** Bootstrap-Delete (§6.1.7.5): "/" or an object or an instance; the bootstrap account and the Device object stay. */
export function bootstrapDelete(context: DmContext, path: LwM2mPath | undefined): OutgoingResponse {
  if (path && path.resourceId !== undefined) return status(ResponseCode.BadRequest, "Bootstrap-Delete takes /, an object or an instance");
  const keep = bootstrapAccountId(context.store);
  const objects = path ? [context.store.get(path.objectId)].filter((o) => o !== undefined) : context.store.list();
  if (path && objects.length === 0) return NOT_FOUND;
  for (const object of objects) {
    if (object.id === ObjectId.Device) continue;
    for (const id of object.instanceIds()) {
      if (path?.instanceId !== undefined && id !== path.instanceId) continue;
      if (object.id === ObjectId.Security && id === keep) continue;
      object.deleteInstance(id);
    }
  }
  return { code: ResponseCode.Deleted };
}

/** Bootstrap-Discover (§6.1.7.1): objects and instances, with the server accounts' ssid and uri. */
export function bootstrapDiscover(context: DmContext, path: LwM2mPath | undefined, version: string): OutgoingResponse {
  if (path && path.instanceId !== undefined) return status(ResponseCode.BadRequest, "Bootstrap-Discover takes / or an object");
  const objects = path ? [context.store.get(path.objectId)].filter((o) => o !== undefined) : context.store.list();
  if (path && objects.length === 0) return NOT_FOUND;
  const links: Link[] = path ? [] : [{ target: "/", attributes: [["lwm2m", version]] }];
  for (const object of objects) {
    const ids = object.instanceIds();
    const version = object.definition.version;
    if (ids.length === 0 || version !== "1.0") links.push({ target: `/${object.id}`, attributes: version !== "1.0" ? [["ver", version]] : [] });
    for (const id of ids) {
      const instance = object.instance(id)!;
      const attributes: [string, string | number | true][] = [];
      if (object.id === ObjectId.Security && instance.get(SecurityResource.BootstrapServer) !== true) {
        const ssid = instance.get(SecurityResource.ShortServerId);
        if (typeof ssid === "number") attributes.push(["ssid", ssid]);
        const uri = instance.get(SecurityResource.ServerUri);
        if (typeof uri === "string") attributes.push(["uri", uri]);
      } else if (object.id === ObjectId.Server) {
        const ssid = instance.get(ServerResource.ShortServerId);
        if (typeof ssid === "number") attributes.push(["ssid", ssid]);
      }
      links.push({ target: formatPath({ objectId: object.id, instanceId: id }), attributes });
    }
  }
  return { code: ResponseCode.Content, contentFormat: ContentFormat.LinkFormat, payload: encodeLinks(links) };
}

/** Bootstrap-Read (1.1, §6.1.7.2): only the Server and Access Control objects. */
export function bootstrapRead(context: DmContext, path: LwM2mPath, accept: number | undefined): OutgoingResponse {
  if (path.objectId !== ObjectId.Server && path.objectId !== ObjectId.AccessControl) return status(ResponseCode.BadRequest, "Bootstrap-Read covers objects 1 and 2 only");
  return read(context, path, accept);
}

/**
 * Checks the configuration at Bootstrap-Finish: every non-bootstrap Security
 * instance needs a URI and a Short Server ID matching a Server instance, and
 * there must be at least one the client can use (NoSec with coap://, or PSK
 * with coaps:// in a build with DTLS). Returns a reason when inconsistent (4.06).
 */
export function bootstrapInconsistency(store: ObjectStore, dtlsAvailable: boolean): string | undefined {
  const security = store.get(ObjectId.Security)!;
  const servers = store.get(ObjectId.Server)!;
  const ssids = new Set(servers.instanceIds().map((id) => servers.instance(id)!.get(ServerResource.ShortServerId)));
  let accounts = 0;
  let usable = 0;
  let unusable: string | undefined;
  for (const id of security.instanceIds()) {
    const instance = security.instance(id)!;
    if (instance.get(SecurityResource.BootstrapServer) === true) continue;
    accounts++;
    const uri = instance.get(SecurityResource.ServerUri);
    if (typeof uri !== "string") return `/0/${id} has no server URI`;
    const ssid = instance.get(SecurityResource.ShortServerId);
    if (typeof ssid !== "number" || !ssids.has(ssid)) return `/0/${id} has no Server instance with its Short Server ID`;
    const secured = readAccountSecurity(instance, dtlsAvailable);
    if (typeof secured === "string") unusable ??= secured;
    else usable++;
  }
  if (accounts === 0) return "no LwM2M server account was provisioned";
  // Accounts the client cannot use yet may stay beside a usable one; with none usable it could never register.
  if (usable === 0) return unusable;
  for (const id of servers.instanceIds()) {
    const lifetime = servers.instance(id)!.get(ServerResource.Lifetime);
    if (typeof lifetime !== "number" || lifetime <= 0) return `/1/${id} has no lifetime`;
    if (typeof servers.instance(id)!.get(ServerResource.Binding) !== "string") return `/1/${id} has no binding`;
  }
  return undefined;
}
