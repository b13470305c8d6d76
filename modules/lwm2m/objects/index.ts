import type { ObjectDefinition } from "../model/types.js";
import { ACCESS_CONTROL_OBJECT } from "./access-control.js";
import { BINARY_APP_DATA_CONTAINER_OBJECT } from "./binary-app-data-container.js";
import { CONFIG_OBJECT } from "./config.js";
import { CONNECTIVITY_MONITORING_OBJECT } from "./connectivity-monitoring.js";
import { CONNECTIVITY_STATISTICS_OBJECT } from "./connectivity-statistics.js";
import { DEVICE_OBJECT } from "./device.js";
import { FIRMWARE_UPDATE_OBJECT } from "./firmware-update.js";
import { LOCATION_OBJECT } from "./location.js";
import { SECURITY_OBJECT } from "./security.js";
import { SERVER_OBJECT } from "./server.js";

export { ObjectId } from "./object-ids.js";
export { SecurityMode, SecurityResource } from "./security.js";
export { ServerResource } from "./server.js";
export { AccessControlResource } from "./access-control.js";
export { DeviceResource } from "./device.js";
export { ConnectivityMonitoringResource } from "./connectivity-monitoring.js";
export { FirmwareUpdateResource } from "./firmware-update.js";
export { LocationResource } from "./location.js";
export { ConnectivityStatisticsResource } from "./connectivity-statistics.js";
export { AppDataResource } from "./binary-app-data-container.js";
export { ConfigResource } from "./config.js";

/** Every object definition this client ships. */
export const STANDARD_OBJECTS: readonly ObjectDefinition[] = Object.freeze([
  SECURITY_OBJECT,
  SERVER_OBJECT,
  ACCESS_CONTROL_OBJECT,
  DEVICE_OBJECT,
  CONNECTIVITY_MONITORING_OBJECT,
  FIRMWARE_UPDATE_OBJECT,
  LOCATION_OBJECT,
  CONNECTIVITY_STATISTICS_OBJECT,
  BINARY_APP_DATA_CONTAINER_OBJECT,
  CONFIG_OBJECT,
]);
