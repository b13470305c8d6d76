import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 0, LwM2M Security. */
export const SecurityResource = Object.freeze({
  ServerUri: 0,
  BootstrapServer: 1,
  SecurityMode: 2,
  PublicKeyOrIdentity: 3,
  ServerPublicKey: 4,
  SecretKey: 5,
  SmsSecurityMode: 6,
  SmsBindingKeyParameters: 7,
  SmsBindingSecretKeys: 8,
  ServerSmsNumber: 9,
  ShortServerId: 10,
  ClientHoldOffTime: 11,
  BootstrapServerAccountTimeout: 12,
  MatchingType: 13,
  Sni: 14,
  CertificateUsage: 15,
  DtlsTlsCiphersuite: 16,
} as const);

/** Values of /0/x/2, Security Mode. */
export const SecurityMode = Object.freeze({
  PreSharedKey: 0,
  RawPublicKey: 1,
  Certificate: 2,
  NoSec: 3,
  CertificateWithEst: 4,
} as const);

const R = SecurityResource;

/** Object 0, LwM2M Security (OMA registry, version 1.1). Invisible to DM servers. */
export const SECURITY_OBJECT = defineObject(ObjectId.Security, "LwM2M Security", { version: "1.1", multiple: true, mandatory: true }, [
  [R.ServerUri, "LwM2M Server URI", "", "single", "mandatory", "string", [0, 255]],
  [R.BootstrapServer, "Bootstrap-Server", "", "single", "mandatory", "boolean"],
  [R.SecurityMode, "Security Mode", "", "single", "mandatory", "integer", [0, 4]],
  [R.PublicKeyOrIdentity, "Public Key or Identity", "", "single", "mandatory", "opaque"],
  [R.ServerPublicKey, "Server Public Key", "", "single", "mandatory", "opaque"],
  [R.SecretKey, "Secret Key", "", "single", "mandatory", "opaque"],
  [R.SmsSecurityMode, "SMS Security Mode", "", "single", "optional", "integer", [0, 255]],
  [R.SmsBindingKeyParameters, "SMS Binding Key Parameters", "", "single", "optional", "opaque", [6, 6]],
  [R.SmsBindingSecretKeys, "SMS Binding Secret Key(s)", "", "single", "optional", "opaque", [16, 48]],
  [R.ServerSmsNumber, "LwM2M Server SMS Number", "", "single", "optional", "string"],
  [R.ShortServerId, "Short Server ID", "", "single", "optional", "integer", [1, 65534]],
  [R.ClientHoldOffTime, "Client Hold Off Time", "", "single", "optional", "integer", undefined, "s"],
  [R.BootstrapServerAccountTimeout, "Bootstrap-Server Account Timeout", "", "single", "optional", "integer", undefined, "s"],
  [R.MatchingType, "Matching Type", "", "single", "optional", "unsigned", [0, 3]],
  [R.Sni, "SNI", "", "single", "optional", "string"],
  [R.CertificateUsage, "Certificate Usage", "", "single", "optional", "unsigned", [0, 3]],
  [R.DtlsTlsCiphersuite, "DTLS/TLS Ciphersuite", "", "multiple", "optional", "unsigned"],
]);
