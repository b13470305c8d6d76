import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 7, Connectivity Statistics. */
export const ConnectivityStatisticsResource = Object.freeze({
  SmsTxCounter: 0,
  SmsRxCounter: 1,
  TxData: 2,
  RxData: 3,
  MaxMessageSize: 4,
  AverageMessageSize: 5,
  Start: 6,
  Stop: 7,
  CollectionPeriod: 8,
} as const);

const R = ConnectivityStatisticsResource;

/** Object 7, Connectivity Statistics (OMA registry, version 1.0). */
export const CONNECTIVITY_STATISTICS_OBJECT = defineObject(ObjectId.ConnectivityStatistics, "Connectivity Statistics", { multiple: false, mandatory: false }, [
  [R.SmsTxCounter, "SMS Tx Counter", "R", "single", "optional", "integer"],
  [R.SmsRxCounter, "SMS Rx Counter", "R", "single", "optional", "integer"],
  [R.TxData, "Tx Data", "R", "single", "optional", "integer", undefined, "KB"],
  [R.RxData, "Rx Data", "R", "single", "optional", "integer", undefined, "KB"],
  [R.MaxMessageSize, "Max Message Size", "R", "single", "optional", "integer", undefined, "B"],
  [R.AverageMessageSize, "Average Message Size", "R", "single", "optional", "integer", undefined, "B"],
  [R.Start, "Start", "E", "single", "mandatory", "none"],
  [R.Stop, "Stop", "E", "single", "mandatory", "none"],
  [R.CollectionPeriod, "Collection Period", "RW", "single", "optional", "integer", undefined, "s"],
]);
