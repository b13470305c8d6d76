import { defineObject } from "../model/types.js";

/** Object 1, LwM2M Server (OMA registry, version 1.1). */
export const SERVER_OBJECT = defineObject(1, "LwM2M Server", { version: "1.1", multiple: true, mandatory: true }, [
  [0, "Short Server ID", "R", "single", "mandatory", "integer", [1, 65534]],
  [1, "Lifetime", "RW", "single", "mandatory", "integer", [1, 0x7fffffff], "s"],
  [2, "Default Minimum Period", "RW", "single", "optional", "integer", [0, 0x7fffffff], "s"],
  [3, "Default Maximum Period", "RW", "single", "optional", "integer", [0, 0x7fffffff], "s"],
  [4, "Disable", "E", "single", "optional", "none"],
  [5, "Disable Timeout", "RW", "single", "optional", "integer", [0, 0x7fffffff], "s"],
  [6, "Notification Storing When Disabled or Offline", "RW", "single", "mandatory", "boolean"],
  [7, "Binding", "RW", "single", "mandatory", "string", [1, 8]],
  [8, "Registration Update Trigger", "E", "single", "mandatory", "none"],
  [9, "Bootstrap-Request Trigger", "E", "single", "optional", "none"],
  [10, "APN Link", "RW", "single", "optional", "objlnk"],
  [11, "TLS-DTLS Alert Code", "R", "single", "optional", "unsigned", [0, 255]],
  [12, "Last Bootstrapped", "R", "single", "optional", "time"],
  [13, "Registration Priority Order", "RW", "single", "optional", "unsigned"],
  [14, "Initial Registration Delay Timer", "RW", "single", "optional", "unsigned", undefined, "s"],
  [15, "Registration Failure Block", "RW", "single", "optional", "boolean"],
  [16, "Bootstrap on Registration Failure", "RW", "single", "optional", "boolean"],
  [17, "Communication Retry Count", "RW", "single", "optional", "unsigned"],
  [18, "Communication Retry Timer", "RW", "single", "optional", "unsigned", undefined, "s"],
  [19, "Communication Sequence Delay Timer", "RW", "single", "optional", "unsigned", undefined, "s"],
  [20, "Communication Sequence Retry Count", "RW", "single", "optional", "unsigned"],
  [21, "Trigger", "RW", "single", "optional", "boolean"],
  [22, "Preferred Transport", "RW", "single", "optional", "string"],
  [23, "Mute Send", "RW", "single", "optional", "boolean"],
]);
