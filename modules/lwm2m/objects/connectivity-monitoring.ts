import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 4, Connectivity Monitoring. */
export const ConnectivityMonitoringResource = Object.freeze({
  NetworkBearer: 0,
  AvailableNetworkBearer: 1,
  RadioSignalStrength: 2,
  LinkQuality: 3,
  IpAddresses: 4,
  RouterIpAddresses: 5,
  LinkUtilization: 6,
  Apn: 7,
  CellId: 8,
  Smnc: 9,
  Smcc: 10,
  SignalSnr: 11,
  Lac: 12,
} as const);

const R = ConnectivityMonitoringResource;

/** Object 4, Connectivity Monitoring (OMA registry, version 1.1). */
export const CONNECTIVITY_MONITORING_OBJECT = defineObject(ObjectId.ConnectivityMonitoring, "Connectivity Monitoring", { version: "1.1", multiple: false, mandatory: false }, [
  [R.NetworkBearer, "Network Bearer", "R", "single", "mandatory", "integer", [0, 50]],
  [R.AvailableNetworkBearer, "Available Network Bearer", "R", "multiple", "mandatory", "integer", [0, 50]],
  [R.RadioSignalStrength, "Radio Signal Strength", "R", "single", "mandatory", "integer", undefined, "dBm"],
  [R.LinkQuality, "Link Quality", "R", "single", "optional", "integer"],
  [R.IpAddresses, "IP Addresses", "R", "multiple", "mandatory", "string"],
  [R.RouterIpAddresses, "Router IP Addresses", "R", "multiple", "optional", "string"],
  [R.LinkUtilization, "Link Utilization", "R", "single", "optional", "integer", [0, 100], "%"],
  [R.Apn, "APN", "R", "multiple", "optional", "string"],
  [R.CellId, "Cell ID", "R", "single", "optional", "integer"],
  [R.Smnc, "SMNC", "R", "single", "optional", "integer"],
  [R.Smcc, "SMCC", "R", "single", "optional", "integer"],
  [R.SignalSnr, "SignalSNR", "R", "single", "optional", "integer", undefined, "dB"],
  [R.Lac, "LAC", "R", "single", "optional", "integer"],
]);
