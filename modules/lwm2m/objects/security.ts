import { defineObject } from "../model/types.js";

/** Object 0, LwM2M Security (OMA registry, version 1.1). Invisible to DM servers. */
export const SECURITY_OBJECT = defineObject(0, "LwM2M Security", { version: "1.1", multiple: true, mandatory: true }, [
  [0, "LwM2M Server URI", "", "single", "mandatory", "string", [0, 255]],
  [1, "Bootstrap-Server", "", "single", "mandatory", "boolean"],
  [2, "Security Mode", "", "single", "mandatory", "integer", [0, 4]],
  [3, "Public Key or Identity", "", "single", "mandatory", "opaque"],
  [4, "Server Public Key", "", "single", "mandatory", "opaque"],
  [5, "Secret Key", "", "single", "mandatory", "opaque"],
  [6, "SMS Security Mode", "", "single", "optional", "integer", [0, 255]],
  [7, "SMS Binding Key Parameters", "", "single", "optional", "opaque", [6, 6]],
  [8, "SMS Binding Secret Key(s)", "", "single", "optional", "opaque", [16, 48]],
  [9, "LwM2M Server SMS Number", "", "single", "optional", "string"],
  [10, "Short Server ID", "", "single", "optional", "integer", [1, 65534]],
  [11, "Client Hold Off Time", "", "single", "optional", "integer", undefined, "s"],
  [12, "Bootstrap-Server Account Timeout", "", "single", "optional", "integer", undefined, "s"],
  [13, "Matching Type", "", "single", "optional", "unsigned", [0, 3]],
  [14, "SNI", "", "single", "optional", "string"],
  [15, "Certificate Usage", "", "single", "optional", "unsigned", [0, 3]],
  [16, "DTLS/TLS Ciphersuite", "", "multiple", "optional", "unsigned"],
]);
