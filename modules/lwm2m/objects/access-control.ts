import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 2, LwM2M Access Control. */
export const AccessControlResource = Object.freeze({
  ObjectId: 0,
  ObjectInstanceId: 1,
  Acl: 2,
  AccessControlOwner: 3,
} as const);

const R = AccessControlResource;

/** Object 2, LwM2M Access Control (OMA registry, version 1.0). */
export const ACCESS_CONTROL_OBJECT = defineObject(ObjectId.AccessControl, "LwM2M Access Control", { multiple: true, mandatory: false }, [
  [R.ObjectId, "Object ID", "R", "single", "mandatory", "integer", [1, 65534]],
  [R.ObjectInstanceId, "Object Instance ID", "R", "single", "mandatory", "integer", [0, 65535]],
  [R.Acl, "ACL", "RW", "multiple", "optional", "integer", [0, 31]],
  [R.AccessControlOwner, "Access Control Owner", "RW", "single", "mandatory", "integer", [0, 65535]],
]);

/** ACL bits (OMA-TS-LightweightM2M_Core §E.3). */
export const AclRight = Object.freeze({ Read: 1, Write: 2, Execute: 4, Delete: 8, Create: 16 });

/** The ACL resource instance (a Short Server ID) holding the rights of servers without an entry of their own. */
export const DEFAULT_ACL_SERVER = 0;

/** Object Instance ID of the ACL instance that grants Create on its object (MAX_ID; no real instance has it). */
export const CREATE_ACL_INSTANCE_ID = 65535;

/** Access Control Owner meaning "managed through the Bootstrap interface only" (MAX_ID). */
export const BOOTSTRAP_ACL_OWNER = 65535;
