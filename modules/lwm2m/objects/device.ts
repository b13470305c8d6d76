import { defineObject } from "../model/types.js";

/** Object 3, Device (OMA registry, version 1.1): every resource of the Azure dmpreview table and the rest of the registry's. */
export const DEVICE_OBJECT = defineObject(3, "Device", { version: "1.1", multiple: false, mandatory: true }, [
  [0, "Manufacturer", "R", "single", "optional", "string"],
  [1, "Model Number", "R", "single", "optional", "string"],
  [2, "Serial Number", "R", "single", "optional", "string"],
  [3, "Firmware Version", "R", "single", "optional", "string"],
  [4, "Reboot", "E", "single", "mandatory", "none"],
  [5, "Factory Reset", "E", "single", "optional", "none"],
  [6, "Available Power Sources", "R", "multiple", "optional", "integer", [0, 7]],
  [7, "Power Source Voltage", "R", "multiple", "optional", "integer", undefined, "mV"],
  [8, "Power Source Current", "R", "multiple", "optional", "integer", undefined, "mA"],
  [9, "Battery Level", "R", "single", "optional", "integer", [0, 100], "%"],
  [10, "Memory Free", "R", "single", "optional", "integer", undefined, "KB"],
  [11, "Error Code", "R", "multiple", "mandatory", "integer", [0, 32]],
  [12, "Reset Error Code", "E", "single", "optional", "none"],
  [13, "Current Time", "RW", "single", "optional", "time"],
  [14, "UTC Offset", "RW", "single", "optional", "string"],
  [15, "Timezone", "RW", "single", "optional", "string"],
  [16, "Supported Binding and Modes", "R", "single", "mandatory", "string"],
  [17, "Device Type", "R", "single", "optional", "string"],
  [18, "Hardware Version", "R", "single", "optional", "string"],
  [19, "Software Version", "R", "single", "optional", "string"],
  [20, "Battery Status", "R", "single", "optional", "integer", [0, 6]],
  [21, "Memory Total", "R", "single", "optional", "integer", undefined, "KB"],
  [22, "ExtDevInfo", "R", "multiple", "optional", "objlnk"],
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
