import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 3, Device. */
export const DeviceResource = Object.freeze({
  Manufacturer: 0,
  ModelNumber: 1,
  SerialNumber: 2,
  FirmwareVersion: 3,
  Reboot: 4,
  FactoryReset: 5,
  AvailablePowerSources: 6,
  PowerSourceVoltage: 7,
  PowerSourceCurrent: 8,
  BatteryLevel: 9,
  MemoryFree: 10,
  ErrorCode: 11,
  ResetErrorCode: 12,
  CurrentTime: 13,
  UtcOffset: 14,
  Timezone: 15,
  SupportedBindingAndModes: 16,
  DeviceType: 17,
  HardwareVersion: 18,
  SoftwareVersion: 19,
  BatteryStatus: 20,
  MemoryTotal: 21,
  ExtDevInfo: 22,
} as const);

const R = DeviceResource;

/** Object 3, Device (OMA registry, version 1.1): every resource of the Azure dmpreview table and the rest of the registry's. */
export const DEVICE_OBJECT = defineObject(ObjectId.Device, "Device", { version: "1.1", multiple: false, mandatory: true }, [
  [R.Manufacturer, "Manufacturer", "R", "single", "optional", "string"],
  [R.ModelNumber, "Model Number", "R", "single", "optional", "string"],
  [R.SerialNumber, "Serial Number", "R", "single", "optional", "string"],
  [R.FirmwareVersion, "Firmware Version", "R", "single", "optional", "string"],
  [R.Reboot, "Reboot", "E", "single", "mandatory", "none"],
  [R.FactoryReset, "Factory Reset", "E", "single", "optional", "none"],
  [R.AvailablePowerSources, "Available Power Sources", "R", "multiple", "optional", "integer", [0, 7]],
  [R.PowerSourceVoltage, "Power Source Voltage", "R", "multiple", "optional", "integer", undefined, "mV"],
  [R.PowerSourceCurrent, "Power Source Current", "R", "multiple", "optional", "integer", undefined, "mA"],
  [R.BatteryLevel, "Battery Level", "R", "single", "optional", "integer", [0, 100], "%"],
  [R.MemoryFree, "Memory Free", "R", "single", "optional", "integer", undefined, "KB"],
  [R.ErrorCode, "Error Code", "R", "multiple", "mandatory", "integer", [0, 32]],
  [R.ResetErrorCode, "Reset Error Code", "E", "single", "optional", "none"],
  [R.CurrentTime, "Current Time", "RW", "single", "optional", "time"],
  [R.UtcOffset, "UTC Offset", "RW", "single", "optional", "string"],
  [R.Timezone, "Timezone", "RW", "single", "optional", "string"],
  [R.SupportedBindingAndModes, "Supported Binding and Modes", "R", "single", "mandatory", "string"],
  [R.DeviceType, "Device Type", "R", "single", "optional", "string"],
  [R.HardwareVersion, "Hardware Version", "R", "single", "optional", "string"],
  [R.SoftwareVersion, "Software Version", "R", "single", "optional", "string"],
  [R.BatteryStatus, "Battery Status", "R", "single", "optional", "integer", [0, 6]],
  [R.MemoryTotal, "Memory Total", "R", "single", "optional", "integer", undefined, "KB"],
  [R.ExtDevInfo, "ExtDevInfo", "R", "multiple", "optional", "objlnk"],
]);

/** Error Code values of /3/0/11. */
export const DeviceError = Object.freeze({
  None: 0,
  LowBatteryPower: 1,
  ExternalPowerSupplyOff: 2,
  GpsModuleFailure: 3,
  LowReceivedSignalStrength: 4,
  OutOfMemory: 5,
  SmsFailure: 6,
  IpConnectivityFailure: 7,
  PeripheralMalfunction: 8,
});
