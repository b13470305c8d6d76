import { defineObject } from "../model/types.js";
import { ObjectId } from "./object-ids.js";

/** Resource IDs of object 1, LwM2M Server. */
export const ServerResource = Object.freeze({
  ShortServerId: 0,
  Lifetime: 1,
  DefaultMinPeriod: 2,
  DefaultMaxPeriod: 3,
  Disable: 4,
  DisableTimeout: 5,
  NotificationStoring: 6,
  Binding: 7,
  RegistrationUpdateTrigger: 8,
  BootstrapRequestTrigger: 9,
  ApnLink: 10,
  TlsDtlsAlertCode: 11,
  LastBootstrapped: 12,
  RegistrationPriorityOrder: 13,
  InitialRegistrationDelayTimer: 14,
  RegistrationFailureBlock: 15,
  BootstrapOnRegistrationFailure: 16,
  CommunicationRetryCount: 17,
  CommunicationRetryTimer: 18,
  CommunicationSequenceDelayTimer: 19,
  CommunicationSequenceRetryCount: 20,
  Trigger: 21,
  PreferredTransport: 22,
  MuteSend: 23,
} as const);

const R = ServerResource;

/** Object 1, LwM2M Server (OMA registry, version 1.1). */
export const SERVER_OBJECT = defineObject(ObjectId.Server, "LwM2M Server", { version: "1.1", multiple: true, mandatory: true }, [
  [R.ShortServerId, "Short Server ID", "R", "single", "mandatory", "integer", [1, 65534]],
  [R.Lifetime, "Lifetime", "RW", "single", "mandatory", "integer", [1, 0x7fffffff], "s"],
  [R.DefaultMinPeriod, "Default Minimum Period", "RW", "single", "optional", "integer", [0, 0x7fffffff], "s"],
  [R.DefaultMaxPeriod, "Default Maximum Period", "RW", "single", "optional", "integer", [0, 0x7fffffff], "s"],
  [R.Disable, "Disable", "E", "single", "optional", "none"],
  [R.DisableTimeout, "Disable Timeout", "RW", "single", "optional", "integer", [0, 0x7fffffff], "s"],
  [R.NotificationStoring, "Notification Storing When Disabled or Offline", "RW", "single", "mandatory", "boolean"],
  [R.Binding, "Binding", "RW", "single", "mandatory", "string", [1, 8]],
  [R.RegistrationUpdateTrigger, "Registration Update Trigger", "E", "single", "mandatory", "none"],
  [R.BootstrapRequestTrigger, "Bootstrap-Request Trigger", "E", "single", "optional", "none"],
  [R.ApnLink, "APN Link", "RW", "single", "optional", "objlnk"],
  [R.TlsDtlsAlertCode, "TLS-DTLS Alert Code", "R", "single", "optional", "unsigned", [0, 255]],
  [R.LastBootstrapped, "Last Bootstrapped", "R", "single", "optional", "time"],
  [R.RegistrationPriorityOrder, "Registration Priority Order", "RW", "single", "optional", "unsigned"],
  [R.InitialRegistrationDelayTimer, "Initial Registration Delay Timer", "RW", "single", "optional", "unsigned", undefined, "s"],
  [R.RegistrationFailureBlock, "Registration Failure Block", "RW", "single", "optional", "boolean"],
  [R.BootstrapOnRegistrationFailure, "Bootstrap on Registration Failure", "RW", "single", "optional", "boolean"],
  [R.CommunicationRetryCount, "Communication Retry Count", "RW", "single", "optional", "unsigned"],
  [R.CommunicationRetryTimer, "Communication Retry Timer", "RW", "single", "optional", "unsigned", undefined, "s"],
  [R.CommunicationSequenceDelayTimer, "Communication Sequence Delay Timer", "RW", "single", "optional", "unsigned", undefined, "s"],
  [R.CommunicationSequenceRetryCount, "Communication Sequence Retry Count", "RW", "single", "optional", "unsigned"],
  [R.Trigger, "Trigger", "RW", "single", "optional", "boolean"],
  [R.PreferredTransport, "Preferred Transport", "RW", "single", "optional", "string"],
  [R.MuteSend, "Mute Send", "RW", "single", "optional", "boolean"],
]);
