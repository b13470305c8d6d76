import type { ObjectInstance, ObjectStore } from "./model/object-store.js";
import { ObjectId } from "./objects/object-ids.js";
import { SecurityMode, SecurityResource } from "./objects/security.js";
import { parseServerUri, type ServerUri } from "./server-uri.js";

/** How the client talks to one server, as its Security instance says. */
export type AccountSecurity =
  | { readonly mode: "nosec" }
  /** DTLS 1.2 with a pre-shared key: identity /0/x/3, key /0/x/5. */
  | { readonly mode: "psk"; readonly identity: Uint8Array; readonly key: Uint8Array };

/** A usable Security instance: its server's URI and how to secure the connection. */
export interface SecuredUri {
  readonly uri: ServerUri;
  readonly security: AccountSecurity;
}

/** The largest PSK the DTLS binding takes. */
export const MAX_PSK_BYTES = 64;

const MODE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [SecurityMode.RawPublicKey]: "Raw Public Key",
  [SecurityMode.Certificate]: "Certificate",
  [SecurityMode.CertificateWithEst]: "Certificate with EST",
});

/**
 * Reads a Security instance: coaps:// goes with PSK mode (identity and a key
 * of 1..64 bytes) over DTLS, coap:// with NoSec. Anything else (a scheme that
 * disagrees with the mode, Raw Public Key or Certificate modes, PSK in a
 * build without DTLS) is a string saying why the account cannot be used.
 * Never names key bytes.
 */
export function readAccountSecurity(instance: ObjectInstance, dtlsAvailable: boolean): SecuredUri | string {
  const where = `/0/${instance.id}`;
  const text = instance.get(SecurityResource.ServerUri);
  const uri = typeof text === "string" ? parseServerUri(text) : undefined;
  if (!uri) return `${where} has the server URI "${String(text)}", which is not coap://host[:port] or coaps://host[:port]`;
  const mode = instance.get(SecurityResource.SecurityMode);
  if (mode === SecurityMode.NoSec) {
    return uri.secure ? `${where} is in NoSec mode but its URI is coaps:// (NoSec goes with coap://, PSK with coaps://)` : { uri, security: { mode: "nosec" } };
  }
  if (mode !== SecurityMode.PreSharedKey) {
    const name = typeof mode === "number" ? MODE_NAMES[mode] : undefined;
    return `${where} asks for security mode ${String(mode)}${name ? ` (${name})` : ""}; this client supports PSK (0) and NoSec (3)`;
  }
  if (!uri.secure) return `${where} is in PSK mode but its URI is coap:// (PSK goes with coaps://)`;
  const identity = instance.get(SecurityResource.PublicKeyOrIdentity);
  const key = instance.get(SecurityResource.SecretKey);
  if (!(identity instanceof Uint8Array) || identity.length === 0) return `${where} is in PSK mode without a PSK identity (/0/x/3)`;
  if (!(key instanceof Uint8Array) || key.length === 0 || key.length > MAX_PSK_BYTES) return `${where} is in PSK mode without a key of 1..${MAX_PSK_BYTES} bytes (/0/x/5)`;
  if (!dtlsAvailable) return `${where} needs DTLS (${String(text)}), and this build has no DTLS`;
  return { uri, security: { mode: "psk", identity, key } };
}

/** The security of the Security instance `id` now (keys as they are at this moment), or undefined. */
export function currentSecurity(store: ObjectStore, id: number | undefined): AccountSecurity | undefined {
  const instance = id === undefined ? undefined : store.get(ObjectId.Security)?.instance(id);
  if (!instance) return undefined;
  const read = readAccountSecurity(instance, true);
  return typeof read === "string" ? undefined : read.security;
}
