import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 10241, Config (there is no resource 0). */
export const ConfigResource = Object.freeze({
  Name: 1,
  Value: 2,
  Apply: 3,
} as const);

const R = ConfigResource;

/** Object 10241, Config (Azure IoT dmpreview custom object): a named setting and an action that applies it. */
export const CONFIG_OBJECT = defineObject(ObjectId.Config, "Config", { multiple: true, mandatory: false }, [
  [R.Name, "Name", "RW", "single", "mandatory", "string"],
  [R.Value, "Value", "RW", "single", "mandatory", "string"],
  [R.Apply, "Apply", "E", "single", "mandatory", "none"],
]);
