import { defineObject } from "../model/types.js";

/** Object 4, Connectivity Monitoring (OMA registry, version 1.1). */
export const CONNECTIVITY_MONITORING_OBJECT = defineObject(4, "Connectivity Monitoring", { version: "1.1", multiple: false, mandatory: false }, [
  [0, "Network Bearer", "R", "single", "mandatory", "integer", [0, 50]],
  [1, "Available Network Bearer", "R", "multiple", "mandatory", "integer", [0, 50]],
  [2, "Radio Signal Strength", "R", "single", "mandatory", "integer", undefined, "dBm"],
  [3, "Link Quality", "R", "single", "optional", "integer"],
  [4, "IP Addresses", "R", "multiple", "mandatory", "string"],
  [5, "Router IP Addresses", "R", "multiple", "optional", "string"],
  [6, "Link Utilization", "R", "single", "optional", "integer", [0, 100], "%"],
  [7, "APN", "R", "multiple", "optional", "string"],
  [8, "Cell ID", "R", "single", "optional", "integer"],
  [9, "SMNC", "R", "single", "optional", "integer"],
  [10, "SMCC", "R", "single", "optional", "integer"],
  [11, "SignalSNR", "R", "single", "optional", "integer", undefined, "dB"],
  [12, "LAC", "R", "single", "optional", "integer"],
]);
