/**
 * The crypto engine of the Node platform: SHA-256 from node:crypto, ECDSA
 * P-256 verification from modules/crypto/crypto-core.c over mbedtls, linked
 * into the Node addon (crypto-napi.c in build-native/dtls-node.node), since
 * node:crypto cannot verify a signature over a bare digest. Absent when the
 * addon is missing or was built before modules/crypto.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { CryptoEngine, Sha256 } from "../../../crypto.js";
import { loadNodeDtlsEngine, NODE_DTLS_ADDON } from "../dtls/node-dtls.js";

export type NodeCryptoLoad = { readonly engine: CryptoEngine; readonly missing?: undefined } | { readonly engine?: undefined; readonly missing: string };

let loaded: NodeCryptoLoad | undefined;

function createSha256(): Sha256 {
  const hash = createHash("sha256");
  let ended = false;
  const running = () => {
    if (ended) throw new TypeError("SHA-256: digest() already ended this hash");
  };
  return {
    update(data: Uint8Array) {
      running();
      hash.update(data);
    },
    digest() {
      running();
      ended = true;
      return new Uint8Array(hash.digest());
    },
  };
}

/** Loads the engine once; without it, `missing` says why. */
export function loadNodeCryptoEngine(): NodeCryptoLoad {
  if (loaded) return loaded;
  const dtls = loadNodeDtlsEngine();
  if (!dtls.engine) {
    loaded = { missing: dtls.missing };
    return loaded;
  }
  const addon = createRequire(import.meta.url)(NODE_DTLS_ADDON) as { verifyP256?: CryptoEngine["verifyP256"] };
  const verifyP256 = addon.verifyP256;
  loaded = verifyP256
    ? { engine: Object.freeze({ createSha256, verifyP256: (publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array) => verifyP256(publicKey, digest, signature) }) }
    : { missing: "the Node addon was built before modules/crypto (npm run build:addon adds it)" };
  return loaded;
}
