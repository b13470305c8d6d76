import type { ObjectStore, ResourceContent } from "../lwm2m/model/object-store.js";
import { DeviceErrors } from "../lwm2m/objects/device-errors.js";
import type { DeviceInfo } from "./params.js";

/**
 * The device's side of atiny_cmd_ioctl, one method per atiny_cmd_e command
 * (the C name in each comment). Every method is optional: a resource whose
 * getter is missing is absent from the object. Setters return nothing to
 * accept or a CoAP code (e.g. 4.00 = 128) to refuse.
 */
export interface DeviceHooks {
  getManufacturer?(): string; // ATINY_GET_MANUFACTURER
  getModelNumber?(): string; // ATINY_GET_MODEL_NUMBER
  getSerialNumber?(): string; // ATINY_GET_SERIAL_NUMBER
  getFirmwareVersion?(): string; // ATINY_GET_FIRMWARE_VER
  reboot?(): void; // ATINY_DO_DEV_REBOOT (after the 2.04 has left)
  factoryReset?(): void; // ATINY_DO_FACTORY_RESET (after the 2.04 has left)
  getPowerSources?(): number[]; // ATINY_GET_POWER_SOURCE
  getSourceVoltages?(): number[]; // ATINY_GET_SOURCE_VOLTAGE, mV
  getPowerCurrents?(): number[]; // ATINY_GET_POWER_CURRENT, mA
  getBatteryLevel?(): number; // ATINY_GET_BATERRY_LEVEL, %
  getMemoryFree?(): number; // ATINY_GET_MEMORY_FREE, KB
  getDeviceErrors?(): number[]; // ATINY_GET_DEV_ERR
  resetDeviceErrors?(): void; // ATINY_DO_RESET_DEV_ERR
  getCurrentTime?(): number; // ATINY_GET_CURRENT_TIME, seconds since the epoch
  setCurrentTime?(seconds: number): number | void; // ATINY_SET_CURRENT_TIME
  getUtcOffset?(): string; // ATINY_GET_UTC_OFFSET, e.g. "+01:00"
  setUtcOffset?(offset: string): number | void; // ATINY_SET_UTC_OFFSET
  getTimezone?(): string; // ATINY_GET_TIMEZONE
  setTimezone?(zone: string): number | void; // ATINY_SET_TIMEZONE
  getBindingModes?(): string; // ATINY_GET_BINDING_MODES, e.g. "UQ"
  getFirmwareState?(): number; // ATINY_GET_FIRMWARE_STATE (when no Firmware Update object runs)
  getNetworkBearer?(): number; // ATINY_GET_NETWORK_BEARER (0 GSM … 21 WLAN, 41 Ethernet)
  getSignalStrength?(): number; // ATINY_GET_SIGNAL_STRENGTH, dBm
  getCellId?(): number; // ATINY_GET_CELL_ID
  getLinkQuality?(): number; // ATINY_GET_LINK_QUALITY
  getLinkUtilization?(): number; // ATINY_GET_LINK_UTILIZATION, %
  getIpAddresses?(): string[]; // (object 4 resource 4)
  writeAppData?(data: Uint8Array, instanceId: number): number | void; // ATINY_WRITE_APP_DATA, with the /19 instance it arrived on
  updatePsk?(identity: string, key: Uint8Array): void; // ATINY_UPDATE_PSK (a bootstrap wrote new credentials)
  getLatitude?(): number; // ATINY_GET_LATITUDE, degrees
  getLongitude?(): number; // ATINY_GET_LONGITUDE
  getAltitude?(): number; // ATINY_GET_ALTITUDE, m
  getSpeed?(): number; // ATINY_GET_SPEED, m/s
  getTimestamp?(): number; // ATINY_GET_TIMESTAMP, seconds since the epoch
  getDeviceType?(): string; // (object 3 resource 17; atiny_device_info_t.dev_type otherwise)
  getHardwareVersion?(): string;
  getSoftwareVersion?(): string;
  getBatteryStatus?(): number;
  getMemoryTotal?(): number;
}

const list = (values: readonly (number | string)[]): ResourceContent => new Map(values.map((value, index) => [index, value]));

/**
 * Wires the hooks into objects 3 (Device), 4 (Connectivity Monitoring), 6
 * (Location) and 19 (downlink writes), creating the instances they need.
 */
export function installDeviceHooks(store: ObjectStore, info: DeviceInfo, hooks: DeviceHooks): DeviceErrors {
  const device = store.get(3)!.instance(0) ?? store.get(3)!.createInstance(0);
  const readers: [number, (() => ResourceContent | undefined) | undefined][] = [
    [0, () => hooks.getManufacturer?.() ?? info.manufacturer],
    [1, hooks.getModelNumber && (() => hooks.getModelNumber!())],
    [2, hooks.getSerialNumber && (() => hooks.getSerialNumber!())],
    [3, hooks.getFirmwareVersion && (() => hooks.getFirmwareVersion!())],
    [6, hooks.getPowerSources && (() => list(hooks.getPowerSources!()))],
    [7, hooks.getSourceVoltages && (() => list(hooks.getSourceVoltages!()))],
    [8, hooks.getPowerCurrents && (() => list(hooks.getPowerCurrents!()))],
    [9, hooks.getBatteryLevel && (() => hooks.getBatteryLevel!())],
    [10, hooks.getMemoryFree && (() => hooks.getMemoryFree!())],
    [16, () => hooks.getBindingModes?.() ?? "UQ"],
    [17, hooks.getDeviceType ? () => hooks.getDeviceType!() : info.deviceType ? () => info.deviceType : undefined],
    [18, hooks.getHardwareVersion && (() => hooks.getHardwareVersion!())],
    [19, hooks.getSoftwareVersion && (() => hooks.getSoftwareVersion!())],
    [20, hooks.getBatteryStatus && (() => hooks.getBatteryStatus!())],
    [21, hooks.getMemoryTotal && (() => hooks.getMemoryTotal!())],
  ];
  for (const [resourceId, read] of readers) if (read) device.bind(resourceId, { read });
  device.bind(4, { execute: () => hooks.reboot?.(), executeAfterResponse: true });
  if (hooks.factoryReset) device.bind(5, { execute: () => hooks.factoryReset!(), executeAfterResponse: true });
  const errors = new DeviceErrors(device);
  if (hooks.getDeviceErrors) device.bind(11, { read: () => list(hooks.getDeviceErrors!().length ? hooks.getDeviceErrors!() : [0]) });
  device.bind(12, {
    execute: () => {
      errors.reset();
      hooks.resetDeviceErrors?.();
    },
  });
  const timeHooks: [number, (() => ResourceContent) | undefined, ((value: ResourceContent) => number | void) | undefined][] = [
    [13, hooks.getCurrentTime && (() => hooks.getCurrentTime!()), hooks.setCurrentTime && ((value) => hooks.setCurrentTime!(value as number))],
    [14, hooks.getUtcOffset && (() => hooks.getUtcOffset!()), hooks.setUtcOffset && ((value) => hooks.setUtcOffset!(String(value)))],
    [15, hooks.getTimezone && (() => hooks.getTimezone!()), hooks.setTimezone && ((value) => hooks.setTimezone!(String(value)))],
  ];
  for (const [resourceId, read, write] of timeHooks) {
    if (read || write) device.bind(resourceId, { ...(read ? { read } : {}), ...(write ? { write } : {}) });
  }

  if (hooks.getNetworkBearer || hooks.getSignalStrength) {
    const connectivity = store.get(4)!.instance(0) ?? store.get(4)!.createInstance(0);
    const conn: [number, (() => ResourceContent | undefined) | undefined][] = [
      [0, hooks.getNetworkBearer && (() => hooks.getNetworkBearer!())],
      [1, hooks.getNetworkBearer && (() => list([hooks.getNetworkBearer!()]))],
      [2, hooks.getSignalStrength && (() => hooks.getSignalStrength!())],
      [3, hooks.getLinkQuality && (() => hooks.getLinkQuality!())],
      [4, () => list(hooks.getIpAddresses?.() ?? [])],
      [6, hooks.getLinkUtilization && (() => hooks.getLinkUtilization!())],
      [8, hooks.getCellId && (() => hooks.getCellId!())],
    ];
    for (const [resourceId, read] of conn) if (read) connectivity.bind(resourceId, { read });
  }
  if (hooks.getLatitude && hooks.getLongitude) {
    const location = store.get(6)!.instance(0) ?? store.get(6)!.createInstance(0);
    const loc: [number, (() => ResourceContent | undefined) | undefined][] = [
      [0, () => hooks.getLatitude!()],
      [1, () => hooks.getLongitude!()],
      [2, hooks.getAltitude && (() => hooks.getAltitude!())],
      [5, () => hooks.getTimestamp?.() ?? hooks.getCurrentTime?.() ?? 0],
      [6, hooks.getSpeed && (() => hooks.getSpeed!())],
    ];
    for (const [resourceId, read] of loc) if (read) location.bind(resourceId, { read });
  }
  return errors;
}
