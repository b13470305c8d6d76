import type { Logger } from "../../hal/log.js";
import type { ObjectInstance, ObjectStore } from "./model/object-store.js";
import { parseServerUri, type ServerUri } from "./server-uri.js";
import { ObjectId } from "./objects/object-ids.js";
import { SecurityResource } from "./objects/security.js";
import { ServerResource } from "./objects/server.js";

export interface ServerConfig {
  /** coap://host[:port] */
  readonly uri: string;
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
  /** coap://host[:port] of the bootstrap server. */
  readonly uri: string;
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
  readonly serverInstance: ObjectInstance;
}

export const DEFAULT_LIFETIME = 86400;
const NO_SEC = 3;

function parseOrThrow(uri: string, what: string): ServerUri {
  const parsed = parseServerUri(uri);
  if (!parsed) throw new RangeError(`${what} URI "${uri}" is not coap://host[:port] or coaps://host[:port]`);
  if (parsed.secure) throw new RangeError(`coaps:// needs the DTLS transport, which is not available yet: ${uri}`);
  return parsed;
}

/** A Security instance in NoSec mode (no keys) for `uri`. */
function createNoSecAccount(store: ObjectStore, uri: string, bootstrapServer: boolean): ObjectInstance {
  const account = store.get(ObjectId.Security)!.createInstance();
  account.set(SecurityResource.ServerUri, uri);
  account.set(SecurityResource.BootstrapServer, bootstrapServer);
  account.set(SecurityResource.SecurityMode, NO_SEC);
  account.set(SecurityResource.PublicKeyOrIdentity, new Uint8Array(0));
  account.set(SecurityResource.ServerPublicKey, new Uint8Array(0));
  account.set(SecurityResource.SecretKey, new Uint8Array(0));
  return account;
}

/** Security (/0) and Server (/1) instances for a factory-configured server. */
export function provisionServer(store: ObjectStore, server: ServerConfig, index: number): void {
  parseOrThrow(server.uri, "server");
  const shortServerId = server.shortServerId ?? index + 1;
  const lifetime = server.lifetime ?? DEFAULT_LIFETIME;
  const binding = server.binding ?? "U";
  if (!(shortServerId >= 1 && shortServerId <= 65534)) throw new RangeError(`short server id ${shortServerId} must be 1..65534`);
  if (!(Number.isInteger(lifetime) && lifetime > 0)) throw new RangeError(`lifetime ${lifetime} must be a positive number of seconds`);
  if (binding !== "U" && binding !== "UQ") throw new RangeError(`binding "${binding}" must be U or UQ`);
  createNoSecAccount(store, server.uri, false).set(SecurityResource.ShortServerId, shortServerId);
  const serverInstance = store.get(ObjectId.Server)!.createInstance();
  serverInstance.set(ServerResource.ShortServerId, shortServerId);
  serverInstance.set(ServerResource.Lifetime, lifetime);
  if (server.defaultMinPeriod) serverInstance.set(ServerResource.DefaultMinPeriod, server.defaultMinPeriod);
  if (server.defaultMaxPeriod) serverInstance.set(ServerResource.DefaultMaxPeriod, server.defaultMaxPeriod);
  serverInstance.set(ServerResource.NotificationStoring, true);
  serverInstance.set(ServerResource.Binding, binding);
}

/** The bootstrap server's Security instance, unless a restored configuration already holds one. */
export function provisionBootstrapAccount(store: ObjectStore, config: BootstrapConfig, restored: boolean): ServerUri {
  const uri = parseOrThrow(config.uri, "bootstrap server");
  if (restored) return uri;
  createNoSecAccount(store, config.uri, true).set(SecurityResource.ClientHoldOffTime, config.holdOffSeconds ?? 0);
  return uri;
}

/** Every usable server account; incomplete ones (or ones needing DTLS) are logged and skipped. */
export function listServerAccounts(store: ObjectStore, log: Logger | undefined): ServerAccount[] {
  const security = store.get(ObjectId.Security)!;
  const servers = store.get(ObjectId.Server)!;
  const accounts: ServerAccount[] = [];
  for (const id of security.instanceIds()) {
    const account = security.instance(id)!;
    if (account.get(SecurityResource.BootstrapServer) === true) continue;
    const shortServerId = account.get(SecurityResource.ShortServerId);
    const serverId = servers.instanceIds().find((candidate) => servers.instance(candidate)!.get(ServerResource.ShortServerId) === shortServerId);
    const uri = parseServerUri(String(account.get(SecurityResource.ServerUri)));
    if (typeof shortServerId !== "number" || serverId === undefined || !uri || uri.secure) {
      log?.warn(`server account /0/${id} is incomplete or needs DTLS; skipped`);
      continue;
    }
    accounts.push({ shortServerId, uri, serverInstance: servers.instance(serverId)! });
  }
  return accounts;
}

export function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}
