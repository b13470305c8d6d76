import type { BootstrapMode } from "../lwm2m/client.js";
import { parseServerUri } from "../lwm2m/server-uri.js";
import { utf8Encode } from "./text.js";
import { AgentCode, DEFAULT_STORING_COUNT, MAX_STORING_COUNT } from "./constants.js";

/** atiny_security_param_t: a server address and its PSK credentials (PSK bytes, not a C string). */
export interface SecurityParams {
  /** coap://host:port or coaps://host:port (Agent Tiny's server_ip and server_port). */
  readonly uri: string;
  readonly pskId?: string;
  readonly psk?: Uint8Array;
}

/** atiny_server_param_t */
export interface ServerParams {
  readonly binding: "U" | "UQ";
  /** Seconds (default 86400). */
  readonly lifetime?: number;
  /** Reports queued per URI while waiting (Agent Tiny's storing_cnt, a message count). */
  readonly storingCount?: number;
  readonly bootstrapMode?: BootstrapMode;
  /** Seconds to wait for a server-initiated bootstrap (sequence mode). */
  readonly holdOffTime?: number;
}

/** atiny_param_t: the IoT server (index 0) and the bootstrap server (index 1). */
export interface AgentParams {
  readonly server: ServerParams;
  readonly iotServer?: SecurityParams;
  readonly bootstrapServer?: SecurityParams;
}

/** atiny_device_info_t */
export interface DeviceInfo {
  readonly endpointName: string;
  readonly manufacturer: string;
  readonly deviceType?: string;
}

export class AgentError extends Error {
  readonly code: AgentCode;
  constructor(code: AgentCode, message: string) {
    super(message);
    this.code = code;
    // Defined, not assigned: a frozen Error.prototype (Moddable preload) makes its read-only `name` refuse assignment.
    Object.defineProperty(this, "name", { value: "AgentError", writable: true, configurable: true });
  }
}

const PSK_ID_MAX = 128;
const PSK_MAX = 64;

function checkSecurity(which: string, security: SecurityParams | undefined, required: boolean): void {
  if (!security) {
    if (required) throw new AgentError(AgentCode.ArgInvalid, `${which} is required by this bootstrap mode`);
    return;
  }
  const uri = parseServerUri(security.uri ?? "");
  if (!uri) throw new AgentError(AgentCode.ArgInvalid, `${which}.uri "${String(security.uri)}" is not coap://host:port or coaps://host:port`);
  const hasId = security.pskId !== undefined;
  const hasKey = security.psk !== undefined;
  if (hasId !== hasKey) throw new AgentError(AgentCode.ArgInvalid, `${which}: give both pskId and psk, or neither`);
  if (hasId && (typeof security.pskId !== "string" || security.pskId.length === 0 || security.pskId.length > PSK_ID_MAX)) {
    throw new AgentError(AgentCode.ArgInvalid, `${which}.pskId must be 1..${PSK_ID_MAX} characters`);
  }
  if (hasKey && (!(security.psk instanceof Uint8Array) || security.psk.length === 0 || security.psk.length > PSK_MAX)) {
    throw new AgentError(AgentCode.ArgInvalid, `${which}.psk must be 1..${PSK_MAX} bytes`);
  }
  if (uri.secure !== hasKey) throw new AgentError(AgentCode.ArgInvalid, `${which}: coaps:// needs a PSK and a PSK needs coaps://`);
}

/** A coaps:// server needs the platform's DTLS engine (Platform.dtls). */
export function checkDtlsAvailable(params: AgentParams, dtlsAvailable: boolean): void {
  for (const [which, security] of [["iotServer", params.iotServer], ["bootstrapServer", params.bootstrapServer]] as const) {
    if (security && !dtlsAvailable && parseServerUri(security.uri)?.secure) {
      throw new AgentError(AgentCode.ArgInvalid, `${which}: coaps:// needs DTLS, and this build has no DTLS (the platform offers no DTLS engine)`);
    }
  }
}

/** The client's PSK account settings of a server: the identity as UTF-8 bytes, the key as given. */
export function pskOf(security: SecurityParams): { identity: Uint8Array; key: Uint8Array } | undefined {
  return security.pskId !== undefined && security.psk ? { identity: utf8Encode(security.pskId), key: security.psk.slice() } : undefined;
}

/** Validates atiny_init's parameters (Agent Tiny crashes on a missing binding and measures binary PSKs with strlen; this does neither). */
export function validateParams(params: AgentParams): Required<ServerParams> {
  if (!params || typeof params !== "object" || !params.server) throw new AgentError(AgentCode.ArgInvalid, "params.server is required");
  const server = params.server;
  if (server.binding !== "U" && server.binding !== "UQ") throw new AgentError(AgentCode.ArgInvalid, `server.binding must be "U" or "UQ", got ${JSON.stringify(server.binding)}`);
  const lifetime = server.lifetime ?? 86400;
  if (!Number.isInteger(lifetime) || lifetime <= 0) throw new AgentError(AgentCode.ArgInvalid, `server.lifetime must be a positive number of seconds, got ${lifetime}`);
  const storingCount = server.storingCount ?? DEFAULT_STORING_COUNT;
  if (!Number.isInteger(storingCount) || storingCount < 1 || storingCount > MAX_STORING_COUNT) throw new AgentError(AgentCode.ArgInvalid, `server.storingCount must be 1..${MAX_STORING_COUNT}`);
  const mode = server.bootstrapMode ?? "factory";
  if (mode !== "factory" && mode !== "client-initiated" && mode !== "sequence") throw new AgentError(AgentCode.ArgInvalid, `server.bootstrapMode "${String(mode)}" is not factory, client-initiated or sequence`);
  const holdOffTime = server.holdOffTime ?? 0;
  if (!Number.isInteger(holdOffTime) || holdOffTime < 0) throw new AgentError(AgentCode.ArgInvalid, "server.holdOffTime must be a whole number of seconds");
  checkSecurity("iotServer", params.iotServer, mode !== "client-initiated");
  checkSecurity("bootstrapServer", params.bootstrapServer, mode !== "factory");
  return { binding: server.binding, lifetime, storingCount, bootstrapMode: mode, holdOffTime };
}

export function validateDeviceInfo(info: DeviceInfo): void {
  if (!info || typeof info.endpointName !== "string" || !/^[!-~]{1,64}$/.test(info.endpointName) || /[&=?#/]/.test(info.endpointName)) {
    throw new AgentError(AgentCode.ArgInvalid, "deviceInfo.endpointName must be 1..64 printable characters without & = ? # /");
  }
  if (typeof info.manufacturer !== "string" || info.manufacturer.length === 0) throw new AgentError(AgentCode.ArgInvalid, "deviceInfo.manufacturer is required");
}
