import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 5, Firmware Update (4 is not defined in version 1.0). */
export const FirmwareUpdateResource = Object.freeze({
  Package: 0,
  PackageUri: 1,
  Update: 2,
  State: 3,
  UpdateResult: 5,
  PkgName: 6,
  PkgVersion: 7,
  ProtocolSupport: 8,
  DeliveryMethod: 9,
} as const);

const R = FirmwareUpdateResource;

/** Object 5, Firmware Update (OMA registry, version 1.0). */
export const FIRMWARE_UPDATE_OBJECT = defineObject(ObjectId.FirmwareUpdate, "Firmware Update", { multiple: false, mandatory: false }, [
  [R.Package, "Package", "W", "single", "mandatory", "opaque"],
  [R.PackageUri, "Package URI", "RW", "single", "mandatory", "string", [0, 255]],
  [R.Update, "Update", "E", "single", "mandatory", "none"],
  [R.State, "State", "R", "single", "mandatory", "integer", [0, 3]],
  [R.UpdateResult, "Update Result", "R", "single", "mandatory", "integer", [0, 9]],
  [R.PkgName, "PkgName", "R", "single", "optional", "string"],
  [R.PkgVersion, "PkgVersion", "R", "single", "optional", "string"],
  [R.ProtocolSupport, "Firmware Update Protocol Support", "R", "multiple", "optional", "integer", [0, 5]],
  [R.DeliveryMethod, "Firmware Update Delivery Method", "R", "single", "mandatory", "integer", [0, 2]],
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
