import type { CryptoEngine } from "../crypto.js";

/**
 * Module "crypto/engine" on targets built without the mbedtls binding (the
 * simulator on macOS and Windows): no SHA-256 or signature check, so signed
 * firmware packages cannot be verified there.
 */
export const cryptoEngine: CryptoEngine | undefined = undefined;
