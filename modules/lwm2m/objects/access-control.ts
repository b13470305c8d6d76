import { defineObject } from "../model/types.js";

/** Object 2, LwM2M Access Control (OMA registry, version 1.0). */
export const ACCESS_CONTROL_OBJECT = defineObject(2, "LwM2M Access Control", { multiple: true, mandatory: false }, [
  [0, "Object ID", "R", "single", "mandatory", "integer", [1, 65534]],
  [1, "Object Instance ID", "R", "single", "mandatory", "integer", [0, 65535]],
  [2, "ACL", "RW", "multiple", "optional", "integer", [0, 31]],
  [3, "Access Control Owner", "RW", "single", "mandatory", "integer", [0, 65535]],
]);

/** ACL bits (OMA-TS-LightweightM2M_Core §E.3). */
export const AclRight = Object.freeze({ Read: 1, Write: 2, Execute: 4, Delete: 8, Create: 16 });
