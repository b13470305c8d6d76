import { defineObject } from "../model/types.js";

/** Object 10241, Config (Azure IoT dmpreview custom object): a named setting and an action that applies it. */
export const CONFIG_OBJECT = defineObject(10241, "Config", { multiple: true, mandatory: false }, [
  [1, "Name", "RW", "single", "mandatory", "string"],
  [2, "Value", "RW", "single", "mandatory", "string"],
  [3, "Apply", "E", "single", "mandatory", "none"],
]);
