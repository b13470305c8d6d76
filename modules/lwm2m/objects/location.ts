import { defineObject } from "../model/types.js";

/** Object 6, Location (OMA registry, version 1.0). */
export const LOCATION_OBJECT = defineObject(6, "Location", { multiple: false, mandatory: false }, [
  [0, "Latitude", "R", "single", "mandatory", "float", [-90, 90], "lat"],
  [1, "Longitude", "R", "single", "mandatory", "float", [-180, 180], "lon"],
  [2, "Altitude", "R", "single", "optional", "float", undefined, "m"],
  [3, "Radius", "R", "single", "optional", "float", undefined, "m"],
  [4, "Velocity", "R", "single", "optional", "opaque"],
  [5, "Timestamp", "R", "single", "mandatory", "time"],
  [6, "Speed", "R", "single", "optional", "float", undefined, "m/s"],
]);
