import type { Logger } from "../../hal/log.js";
import { MAX_PSK_BYTES, readAccountSecurity } from "./account-security.js";
import type { ObjectInstance, ObjectStore } from "./model/object-store.js";
import { parseServerUri, type ServerUri } from "./server-uri.js";
import { ObjectId } from "./objects/object-ids.js";
import { SecurityMode, SecurityResource } from "./objects/security.js";
import { ServerResource } from "./objects/server.js";

/** A DTLS pre-shared key: the identity (/0/x/3) and the key (/0/x/5, 1..64 bytes). */
export interface PskConfig {
  readonly identity: Uint8Array;
  readonly key: Uint8Array;
}

export interface ServerConfig {
  /** coap://host[:port] (NoSec), or coaps://host[:port] with `psk` (PSK mode, over DTLS). */
  readonly uri: string;
  readonly psk?: PskConfig;
  readonly shortServerId?: number;
  /** Registration lifetime in seconds (default 86400). */
  readonly lifetime?: number;
  /** "U" (default) or "UQ" (queue mode). */
  readonly binding?: string;
  readonly defaultMinPeriod?: number;
  readonly defaultMaxPeriod?: number;
}

/** Agent Tiny's bootstrap modes: factory (no bootstrap), client-initiated, and sequence (factory first, bootstrap on failure). */
export type BootstrapMode = "factory" | "client-initiated" | "sequence";

export interface BootstrapConfig {
  /** coap://host[:port] of the bootstrap server, or coaps://host[:port] with `psk`. */
  readonly uri: string;
  readonly psk?: PskConfig;
  readonly mode: Exclude<BootstrapMode, "factory">;
  /** Seconds to wait for a server-initiated bootstrap before requesting one (Client Hold Off Time, /0/x/11; default 0). */
  readonly holdOffSeconds?: number;
  /** How long to wait for Bootstrap-Finish after the request (default 60 s). */
  readonly finishTimeoutMs?: number;
}

/** A usable server account: a Security instance (not the bootstrap one) with its Server instance. */
export interface ServerAccount {
  readonly shortServerId: number;
  readonly uri: ServerUri;
  /** The Security instance: its keys are read when a DTLS handshake starts, so a bootstrap that rewrites them counts. */
  readonly securityInstanceId: number;
  readonly serverInstance: ObjectInstance;
}

export const DEFAULT_LIFETIME = 86400;

/** coaps:// goes with a PSK and a PSK with coaps://; coaps:// needs a build with DTLS. */
function parseOrThrow(uri: string, psk: PskConfig | undefined, what: string, dtlsAvailable: boolean): ServerUri {
  const parsed = parseServerUri(uri);
  if (!parsed) throw new RangeError(`${what} URI "${uri}" is not coap://host[:port] or coaps://host[:port]`);
  if (parsed.secure && !psk) throw new RangeError(`${what} URI ${uri} is coaps://: give a PSK identity and key (only PSK mode is supported)`);
  if (!parsed.secure && psk) throw new RangeError(`${what} URI ${uri} is coap://, but a PSK was given: use coaps:// for DTLS`);
  if (psk && !(psk.identity.length > 0 && psk.key.length > 0 && psk.key.length <= MAX_PSK_BYTES)) {
    throw new RangeError(`${what}: the PSK identity must not be empty and the key must be 1..${MAX_PSK_BYTES} bytes`);
  }
  if (parsed.secure && !dtlsAvailable) throw new RangeError(`${what} URI ${uri} needs DTLS, and this build has no DTLS (platform.dtls is absent)`);
  return parsed;
}

/** A Security instance for `uri`: PSK mode with the identity and key, else NoSec (no keys). */
function createAccount(store: ObjectStore, uri: string, psk: PskConfig | undefined, bootstrapServer: boolean): ObjectInstance {
  const account = store.get(ObjectId.Security)!.createInstance();
  account.set(SecurityResource.ServerUri, uri);
  account.set(SecurityResource.BootstrapServer, bootstrapServer);
  account.set(SecurityResource.SecurityMode, psk ? SecurityMode.PreSharedKey : SecurityMode.NoSec);
  account.set(SecurityResource.PublicKeyOrIdentity, psk ? psk.identity.slice() : new Uint8Array(0));
  account.set(SecurityResource.ServerPublicKey, new Uint8Array(0));
  account.set(SecurityResource.SecretKey, psk ? psk.key.slice() : new Uint8Array(0));
  return account;
}

/** Security (/0) and Server (/1) instances for a factory-configured server. */
export function provisionServer(store: ObjectStore, server: ServerConfig, index: number, dtlsAvailable: boolean): void {
  parseOrThrow(server.uri, server.psk, "server", dtlsAvailable);
  const shortServerId = server.shortServerId ?? index + 1;
  const lifetime = server.lifetime ?? DEFAULT_LIFETIME;
  const binding = server.binding ?? "U";
  if (!(shortServerId >= 1 && shortServerId <= 65534)) throw new RangeError(`short server id ${shortServerId} must be 1..65534`);
  if (!(Number.isInteger(lifetime) && lifetime > 0)) throw new RangeError(`lifetime ${lifetime} must be a positive number of seconds`);
  if (binding !== "U" && binding !== "UQ") throw new RangeError(`binding "${binding}" must be U or UQ`);
  createAccount(store, server.uri, server.psk, false).set(SecurityResource.ShortServerId, shortServerId);
  const serverInstance = store.get(ObjectId.Server)!.createInstance();
  serverInstance.set(ServerResource.ShortServerId, shortServerId);
  serverInstance.set(ServerResource.Lifetime, lifetime);
  if (server.defaultMinPeriod) serverInstance.set(ServerResource.DefaultMinPeriod, server.defaultMinPeriod);
  if (server.defaultMaxPeriod) serverInstance.set(ServerResource.DefaultMaxPeriod, server.defaultMaxPeriod);
  serverInstance.set(ServerResource.NotificationStoring, true);
  serverInstance.set(ServerResource.Binding, binding);
}

/** The bootstrap server's Security instance, unless a restored configuration already holds one. */
export function provisionBootstrapAccount(store: ObjectStore, config: BootstrapConfig, restored: boolean, dtlsAvailable: boolean): ServerUri {
  const uri = parseOrThrow(config.uri, config.psk, "bootstrap server", dtlsAvailable);
  if (restored) return uri;
  createAccount(store, config.uri, config.psk, true).set(SecurityResource.ClientHoldOffTime, config.holdOffSeconds ?? 0);
  return uri;
}

/** Every usable server account; incomplete ones, and ones whose security this client cannot provide, are logged and skipped. */
export function listServerAccounts(store: ObjectStore, log: Logger | undefined, dtlsAvailable: boolean): ServerAccount[] {
  const security = store.get(ObjectId.Security)!;
  const servers = store.get(ObjectId.Server)!;
  const accounts: ServerAccount[] = [];
  for (const id of security.instanceIds()) {
    const account = security.instance(id)!;
    if (account.get(SecurityResource.BootstrapServer) === true) continue;
    const shortServerId = account.get(SecurityResource.ShortServerId);
    const serverId = servers.instanceIds().find((candidate) => servers.instance(candidate)!.get(ServerResource.ShortServerId) === shortServerId);
    if (typeof shortServerId !== "number" || serverId === undefined) {
      log?.warn(`server account /0/${id} is incomplete (no Short Server ID with a Server instance); skipped`);
      continue;
    }
    const secured = readAccountSecurity(account, dtlsAvailable);
    if (typeof secured === "string") {
      log?.warn(`server account skipped: ${secured}`);
      continue;
    }
    accounts.push({ shortServerId, uri: secured.uri, securityInstanceId: id, serverInstance: servers.instance(serverId)! });
  }
  return accounts;
}

export function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}
