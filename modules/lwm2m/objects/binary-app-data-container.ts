import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 19, BinaryAppDataContainer. */
export const AppDataResource = Object.freeze({
  Data: 0,
  DataPriority: 1,
  DataCreationTime: 2,
  DataDescription: 3,
  DataFormat: 4,
  AppId: 5,
} as const);

const R = AppDataResource;

/** Object 19, BinaryAppDataContainer (OMA registry, version 1.0). Agent Tiny uses instance 0 for uplink data, instance 1 for downlink commands. */
export const BINARY_APP_DATA_CONTAINER_OBJECT = defineObject(ObjectId.BinaryAppDataContainer, "BinaryAppDataContainer", { multiple: true, mandatory: false }, [
  [R.Data, "Data", "RW", "multiple", "mandatory", "opaque"],
  [R.DataPriority, "Data Priority", "RW", "single", "optional", "integer", [0, 255]],
  [R.DataCreationTime, "Data Creation Time", "RW", "single", "optional", "time"],
  [R.DataDescription, "Data Description", "RW", "single", "optional", "string", [0, 32]],
  [R.DataFormat, "Data Format", "RW", "single", "optional", "string", [0, 32]],
  [R.AppId, "App ID", "RW", "single", "optional", "integer", [0, 65535]],
]);

export const UPLINK_INSTANCE = 0;
export const DOWNLINK_INSTANCE = 1;
