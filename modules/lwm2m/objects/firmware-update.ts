import { defineObject } from "../model/types.js";

/** Object 5, Firmware Update (OMA registry, version 1.0). */
export const FIRMWARE_UPDATE_OBJECT = defineObject(5, "Firmware Update", { multiple: false, mandatory: false }, [
  [0, "Package", "W", "single", "mandatory", "opaque"],
  [1, "Package URI", "RW", "single", "mandatory", "string", [0, 255]],
  [2, "Update", "E", "single", "mandatory", "none"],
  [3, "State", "R", "single", "mandatory", "integer", [0, 3]],
  [5, "Update Result", "R", "single", "mandatory", "integer", [0, 9]],
  [6, "PkgName", "R", "single", "optional", "string"],
  [7, "PkgVersion", "R", "single", "optional", "string"],
  [8, "Firmware Update Protocol Support", "R", "multiple", "optional", "integer", [0, 5]],
  [9, "Firmware Update Delivery Method", "R", "single", "mandatory", "integer", [0, 2]],
]);

export const FirmwareState = Object.freeze({ Idle: 0, Downloading: 1, Downloaded: 2, Updating: 3 });

export const FirmwareUpdateResult = Object.freeze({
  Initial: 0,
  Success: 1,
  NotEnoughStorage: 2,
  OutOfMemory: 3,
  ConnectionLost: 4,
  IntegrityCheckFailure: 5,
  UnsupportedPackageType: 6,
  InvalidUri: 7,
  UpdateFailed: 8,
  UnsupportedProtocol: 9,
});
