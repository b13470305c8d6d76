import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import type { ObjectStore } from "../model/object-store.js";
import { AccessControlResource, AclRight, DEFAULT_ACL_SERVER } from "../objects/access-control.js";
import { ObjectId } from "../objects/object-ids.js";
import { ServerResource } from "../objects/server.js";
import type { LwM2mPath } from "../path.js";
import type { DmContext } from "./context.js";

export type Right = keyof typeof AclRight;

/** Instance id used by the ACL instance that grants Create on an object. */
export const CREATE_INSTANCE_ID = 65535;

function aclInstanceFor(store: ObjectStore, objectId: number, instanceId: number) {
  const acl = store.get(ObjectId.AccessControl);
  if (!acl) return undefined;
  for (const id of acl.instanceIds()) {
    const instance = acl.instance(id)!;
    if (instance.get(AccessControlResource.ObjectId) === objectId && instance.get(AccessControlResource.ObjectInstanceId) === instanceId) return instance;
  }
  return undefined;
}

/** The rights bits `shortServerId` holds on an object instance (OMA-TS-LightweightM2M_Core §E.3 / 7.3). */
export function rightsOf(store: ObjectStore, shortServerId: number, objectId: number, instanceId: number): number {
  const instance = aclInstanceFor(store, objectId, instanceId);
  if (!instance) return 0;
  if (instance.get(AccessControlResource.AccessControlOwner) === shortServerId) return AclRight.Read | AclRight.Write | AclRight.Execute | AclRight.Delete;
  const acl = instance.get(AccessControlResource.Acl);
  if (!(acl instanceof Map)) return 0;
  const own = acl.get(shortServerId);
  const fallback = acl.get(DEFAULT_ACL_SERVER);
  return typeof own === "number" ? own : typeof fallback === "number" ? fallback : 0;
}

/**
 * Access Control (object 2), enforced only while the client serves more than
 * one LwM2M server. A server always has full access to its own Server
 * instance; object-level Read, Discover and Observe need Read on every
 * instance of the object.
 */
export function checkAccess(context: DmContext, path: LwM2mPath, right: Right): OutgoingResponse | undefined {
  if (!context.accessControl?.()) return undefined;
  const store = context.store;
  const denied = { code: ResponseCode.Unauthorized };
  const ownServerInstance = path.objectId === ObjectId.Server && path.instanceId !== undefined && store.get(ObjectId.Server)?.instance(path.instanceId)?.get(ServerResource.ShortServerId) === context.shortServerId;
  if (ownServerInstance) return undefined;
  const bit = AclRight[right];
  if (right === "Create") return rightsOf(store, context.shortServerId, path.objectId, CREATE_INSTANCE_ID) & bit ? undefined : denied;
  if (path.instanceId === undefined) {
    const ids = store.get(path.objectId)?.instanceIds() ?? [];
    return ids.every((id) => rightsOf(store, context.shortServerId, path.objectId, id) & bit) ? undefined : denied;
  }
  return rightsOf(store, context.shortServerId, path.objectId, path.instanceId) & bit ? undefined : denied;
}

/** After a Create under Access Control: the creating server owns the new instance. */
export function grantOwnership(context: DmContext, objectId: number, instanceId: number): void {
  if (!context.accessControl?.()) return;
  const acl = context.store.get(ObjectId.AccessControl);
  if (!acl || aclInstanceFor(context.store, objectId, instanceId)) return;
  const instance = acl.createInstance();
  instance.set(AccessControlResource.ObjectId, objectId);
  instance.set(AccessControlResource.ObjectInstanceId, instanceId);
  instance.set(AccessControlResource.Acl, new Map());
  instance.set(AccessControlResource.AccessControlOwner, context.shortServerId);
}
