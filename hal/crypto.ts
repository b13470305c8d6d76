/**
 * Cryptography a port may offer for firmware packages: SHA-256 and ECDSA
 * P-256 signature verification, from mbedtls through the binding in
 * modules/crypto (the library the DTLS binding already links).
 */

/** An incremental SHA-256. digest() ends it; update() after digest() throws. */
export interface Sha256 {
  update(data: Uint8Array): void;
  /** The 32-byte hash of everything given to update(). */
  digest(): Uint8Array;
}

export interface CryptoEngine {
  createSha256(): Sha256;
  /**
   * Verifies an ECDSA P-256 signature over a SHA-256 `digest` (32 bytes).
   * `publicKey` is the uncompressed point (65 bytes, 0x04 ‖ X ‖ Y);
   * `signature` is r ‖ s (64 bytes, big-endian). False for any mismatch or
   * malformed input; never throws for bad input.
   */
  verifyP256(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean;
}
