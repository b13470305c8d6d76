import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 6, Location. */
export const LocationResource = Object.freeze({
  Latitude: 0,
  Longitude: 1,
  Altitude: 2,
  Radius: 3,
  Velocity: 4,
  Timestamp: 5,
  Speed: 6,
} as const);

const R = LocationResource;

/** Object 6, Location (OMA registry, version 1.0). */
export const LOCATION_OBJECT = defineObject(ObjectId.Location, "Location", { multiple: false, mandatory: false }, [
  [R.Latitude, "Latitude", "R", "single", "mandatory", "float", [-90, 90], "lat"],
  [R.Longitude, "Longitude", "R", "single", "mandatory", "float", [-180, 180], "lon"],
  [R.Altitude, "Altitude", "R", "single", "optional", "float", undefined, "m"],
  [R.Radius, "Radius", "R", "single", "optional", "float", undefined, "m"],
  [R.Velocity, "Velocity", "R", "single", "optional", "opaque"],
  [R.Timestamp, "Timestamp", "R", "single", "mandatory", "time"],
  [R.Speed, "Speed", "R", "single", "optional", "float", undefined, "m/s"],
]);
