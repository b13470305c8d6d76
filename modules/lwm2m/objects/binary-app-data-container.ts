import { defineObject } from "../model/types.js";

/** Object 19, BinaryAppDataContainer (OMA registry, version 1.0). Agent Tiny uses instance 0 for uplink data, instance 1 for downlink commands. */
export const BINARY_APP_DATA_CONTAINER_OBJECT = defineObject(19, "BinaryAppDataContainer", { multiple: true, mandatory: false }, [
  [0, "Data", "RW", "multiple", "mandatory", "opaque"],
  [1, "Data Priority", "RW", "single", "optional", "integer", [0, 255]],
  [2, "Data Creation Time", "RW", "single", "optional", "time"],
  [3, "Data Description", "RW", "single", "optional", "string", [0, 32]],
  [4, "Data Format", "RW", "single", "optional", "string", [0, 32]],
  [5, "App ID", "RW", "single", "optional", "integer", [0, 65535]],
]);

export const UPLINK_INSTANCE = 0;
export const DOWNLINK_INSTANCE = 1;
