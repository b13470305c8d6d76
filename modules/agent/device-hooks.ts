import type { ObjectStore, ResourceContent } from "../lwm2m/model/object-store.js";
import { ConnectivityMonitoringResource } from "../lwm2m/objects/connectivity-monitoring.js";
import { DeviceErrors } from "../lwm2m/objects/device-errors.js";
import { DeviceError, DeviceResource } from "../lwm2m/objects/device.js";
import { LocationResource } from "../lwm2m/objects/location.js";
import { ObjectId } from "../lwm2m/objects/object-ids.js";
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
  const device = store.get(ObjectId.Device)!.instance(0) ?? store.get(ObjectId.Device)!.createInstance(0);
  const readers: [number, (() => ResourceContent | undefined) | undefined][] = [
    [DeviceResource.Manufacturer, () => hooks.getManufacturer?.() ?? info.manufacturer],
    [DeviceResource.ModelNumber, hooks.getModelNumber && (() => hooks.getModelNumber!())],
    [DeviceResource.SerialNumber, hooks.getSerialNumber && (() => hooks.getSerialNumber!())],
    [DeviceResource.FirmwareVersion, hooks.getFirmwareVersion && (() => hooks.getFirmwareVersion!())],
    [DeviceResource.AvailablePowerSources, hooks.getPowerSources && (() => list(hooks.getPowerSources!()))],
    [DeviceResource.PowerSourceVoltage, hooks.getSourceVoltages && (() => list(hooks.getSourceVoltages!()))],
    [DeviceResource.PowerSourceCurrent, hooks.getPowerCurrents && (() => list(hooks.getPowerCurrents!()))],
    [DeviceResource.BatteryLevel, hooks.getBatteryLevel && (() => hooks.getBatteryLevel!())],
    [DeviceResource.MemoryFree, hooks.getMemoryFree && (() => hooks.getMemoryFree!())],
    [DeviceResource.SupportedBindingAndModes, () => hooks.getBindingModes?.() ?? "UQ"],
    [DeviceResource.DeviceType, hooks.getDeviceType ? () => hooks.getDeviceType!() : info.deviceType ? () => info.deviceType : undefined],
    [DeviceResource.HardwareVersion, hooks.getHardwareVersion && (() => hooks.getHardwareVersion!())],
    [DeviceResource.SoftwareVersion, hooks.getSoftwareVersion && (() => hooks.getSoftwareVersion!())],
    [DeviceResource.BatteryStatus, hooks.getBatteryStatus && (() => hooks.getBatteryStatus!())],
    [DeviceResource.MemoryTotal, hooks.getMemoryTotal && (() => hooks.getMemoryTotal!())],
  ];
  for (const [resourceId, read] of readers) if (read) device.bind(resourceId, { read });
  device.bind(DeviceResource.Reboot, { execute: () => hooks.reboot?.(), executeAfterResponse: true });
  if (hooks.factoryReset) device.bind(DeviceResource.FactoryReset, { execute: () => hooks.factoryReset!(), executeAfterResponse: true });
  const errors = new DeviceErrors(device);
  if (hooks.getDeviceErrors) device.bind(DeviceResource.ErrorCode, { read: () => list(hooks.getDeviceErrors!().length ? hooks.getDeviceErrors!() : [DeviceError.None]) });
  device.bind(DeviceResource.ResetErrorCode, {
    execute: () => {
      errors.reset();
      hooks.resetDeviceErrors?.();
    },
  });
  const timeHooks: [number, (() => ResourceContent) | undefined, ((value: ResourceContent) => number | void) | undefined][] = [
    [DeviceResource.CurrentTime, hooks.getCurrentTime && (() => hooks.getCurrentTime!()), hooks.setCurrentTime && ((value) => hooks.setCurrentTime!(value as number))],
    [DeviceResource.UtcOffset, hooks.getUtcOffset && (() => hooks.getUtcOffset!()), hooks.setUtcOffset && ((value) => hooks.setUtcOffset!(String(value)))],
    [DeviceResource.Timezone, hooks.getTimezone && (() => hooks.getTimezone!()), hooks.setTimezone && ((value) => hooks.setTimezone!(String(value)))],
  ];
  for (const [resourceId, read, write] of timeHooks) {
    if (read || write) device.bind(resourceId, { ...(read ? { read } : {}), ...(write ? { write } : {}) });
  }

  // Connectivity and Location are the device's own: a bootstrap that deletes them gets them back (ObjectStore.own).
  if (hooks.getNetworkBearer || hooks.getSignalStrength) store.own(ObjectId.ConnectivityMonitoring, 0, (connectivity) => {
    const conn: [number, (() => ResourceContent | undefined) | undefined][] = [
      [ConnectivityMonitoringResource.NetworkBearer, hooks.getNetworkBearer && (() => hooks.getNetworkBearer!())],
      [ConnectivityMonitoringResource.AvailableNetworkBearer, hooks.getNetworkBearer && (() => list([hooks.getNetworkBearer!()]))],
      [ConnectivityMonitoringResource.RadioSignalStrength, hooks.getSignalStrength && (() => hooks.getSignalStrength!())],
      [ConnectivityMonitoringResource.LinkQuality, hooks.getLinkQuality && (() => hooks.getLinkQuality!())],
      [ConnectivityMonitoringResource.IpAddresses, () => list(hooks.getIpAddresses?.() ?? [])],
      [ConnectivityMonitoringResource.LinkUtilization, hooks.getLinkUtilization && (() => hooks.getLinkUtilization!())],
      [ConnectivityMonitoringResource.CellId, hooks.getCellId && (() => hooks.getCellId!())],
    ];
    for (const [resourceId, read] of conn) if (read) connectivity.bind(resourceId, { read });
  });
  if (hooks.getLatitude && hooks.getLongitude) store.own(ObjectId.Location, 0, (location) => {
    const loc: [number, (() => ResourceContent | undefined) | undefined][] = [
      [LocationResource.Latitude, () => hooks.getLatitude!()],
      [LocationResource.Longitude, () => hooks.getLongitude!()],
      [LocationResource.Altitude, hooks.getAltitude && (() => hooks.getAltitude!())],
      [LocationResource.Timestamp, () => hooks.getTimestamp?.() ?? hooks.getCurrentTime?.() ?? 0],
      [LocationResource.Speed, hooks.getSpeed && (() => hooks.getSpeed!())],
    ];
    for (const [resourceId, read] of loc) if (read) location.bind(resourceId, { read });
  });
  return errors;
}
