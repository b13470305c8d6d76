import { defineObject } from "../model/types.js";

/** Object 7, Connectivity Statistics (OMA registry, version 1.0). */
export const CONNECTIVITY_STATISTICS_OBJECT = defineObject(7, "Connectivity Statistics", { multiple: false, mandatory: false }, [
  [0, "SMS Tx Counter", "R", "single", "optional", "integer"],
  [1, "SMS Rx Counter", "R", "single", "optional", "integer"],
  [2, "Tx Data", "R", "single", "optional", "integer", undefined, "KB"],
  [3, "Rx Data", "R", "single", "optional", "integer", undefined, "KB"],
  [4, "Max Message Size", "R", "single", "optional", "integer", undefined, "B"],
  [5, "Average Message Size", "R", "single", "optional", "integer", undefined, "B"],
  [6, "Start", "E", "single", "mandatory", "none"],
  [7, "Stop", "E", "single", "mandatory", "none"],
  [8, "Collection Period", "RW", "single", "optional", "integer", undefined, "s"],
]);
