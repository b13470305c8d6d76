import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import type { ObjectInstance, ObjectStore } from "../model/object-store.js";
import { AccessControlResource, AclRight, BOOTSTRAP_ACL_OWNER, CREATE_ACL_INSTANCE_ID, DEFAULT_ACL_SERVER } from "../objects/access-control.js";
import { ObjectId } from "../objects/object-ids.js";
import { ServerResource } from "../objects/server.js";
import type { LwM2mPath } from "../path.js";
import type { DmContext } from "./context.js";

export type Right = keyof typeof AclRight;

const FULL_RIGHTS = AclRight.Read | AclRight.Write | AclRight.Execute | AclRight.Delete;

function aclInstanceFor(store: ObjectStore, objectId: number, instanceId: number): ObjectInstance | undefined {
  const acl = store.get(ObjectId.AccessControl);
  if (!acl) return undefined;
  for (const id of acl.instanceIds()) {
    const instance = acl.instance(id)!;
    if (instance.get(AccessControlResource.ObjectId) === objectId && instance.get(AccessControlResource.ObjectInstanceId) === instanceId) return instance;
  }
  return undefined;
}

/**
 * The rights bits `shortServerId` holds on an object instance (Core §7.3.2.1):
 * its own ACL entry if it has one, else full rights for the Access Control
 * Owner, else the default entry (riid 0), else none; no ACL instance, none.
 * An ACL instance (object 2) itself is readable by every server (a server
 * may watch who owns what) and writable by its owner only (§7.3.1.2.2).
 */
export function rightsOf(store: ObjectStore, shortServerId: number, objectId: number, instanceId: number): number {
  if (objectId === ObjectId.AccessControl) {
    const owner = store.get(ObjectId.AccessControl)?.instance(instanceId)?.get(AccessControlResource.AccessControlOwner);
    return owner === shortServerId && owner !== BOOTSTRAP_ACL_OWNER ? AclRight.Read | AclRight.Write : AclRight.Read;
  }
  const instance = aclInstanceFor(store, objectId, instanceId);
  if (!instance) return 0;
  const acl = instance.get(AccessControlResource.Acl);
  const own = acl instanceof Map ? acl.get(shortServerId) : undefined;
  if (typeof own === "number") return own;
  if (instance.get(AccessControlResource.AccessControlOwner) === shortServerId) return FULL_RIGHTS;
  const fallback = acl instanceof Map ? acl.get(DEFAULT_ACL_SERVER) : undefined;
  return typeof fallback === "number" ? fallback : 0;
}

/** Whether the request's server may read the instance `objectId`/`instanceId` (always, without Access Control). */
export function mayRead(context: DmContext, objectId: number, instanceId: number): boolean {
  return !checkAccess(context, { objectId, instanceId }, "Read");
}

/**
 * Access Control (object 2), enforced only while the client serves more than
 * one LwM2M server. A server always has full access to its own Server
 * instance. On an object only Create is checked (against the ACL instance
 * whose Object Instance ID is 65535); an object-level Read or Observe
 * leaves out the instances the server may not read (§7.3.2.4), and the
 * operations decide the rest.
 */
export function checkAccess(context: DmContext, path: LwM2mPath, right: Right): OutgoingResponse | undefined {
  if (!context.accessControl?.()) return undefined;
  const store = context.store;
  const denied = { code: ResponseCode.Unauthorized };
  const ownServerInstance = path.objectId === ObjectId.Server && path.instanceId !== undefined && store.get(ObjectId.Server)?.instance(path.instanceId)?.get(ServerResource.ShortServerId) === context.shortServerId;
  if (ownServerInstance) return undefined;
  const bit = AclRight[right];
  if (right === "Create") return rightsOf(store, context.shortServerId, path.objectId, CREATE_ACL_INSTANCE_ID) & bit ? undefined : denied;
  if (path.instanceId === undefined) return undefined;
  return rightsOf(store, context.shortServerId, path.objectId, path.instanceId) & bit ? undefined : denied;
}

/** After a Create under Access Control: the creating server owns the new instance, with full rights (Core §6.3.6). */
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

/** After a Delete: the ACL instance of the deleted instance goes too (Core §7.3.1.2.2), so it cannot govern a later one with the same id. */
export function dropAccessControlOf(store: ObjectStore, objectId: number, instanceId: number): void {
  const instance = aclInstanceFor(store, objectId, instanceId);
  if (instance) store.get(ObjectId.AccessControl)!.deleteInstance(instance.id);
}
