/**
 * The signed firmware package (format 1): a header, then the image.
 * All integers are big-endian.
 *
 * | offset | bytes | field |
 * | ------ | ----- | ----- |
 * | 0      | 4     | magic "XFWP" |
 * | 4      | 1     | format version, 1 |
 * | 5      | 1     | signature algorithm, 1 = ECDSA P-256 over SHA-256 |
 * | 6      | 2     | header length H, signature included |
 * | 8      | 4     | image length L |
 * | 12     | 32    | SHA-256 of the image |
 * | 44     | 1 + v | image version: length v (1..32), UTF-8 |
 * | …      | 1 + n | package name: length n (0..64), UTF-8 |
 * | H − 64 | 64    | signature r ‖ s over SHA-256 of header bytes 0 .. H − 64 |
 * | H      | L     | the image |
 *
 * The signature covers the image through its hash, so the header alone
 * proves what the image must be; the image is checked against the hash.
 */
import { utf8Decode, utf8Encode } from "../coap/message.js";

export const PACKAGE_MAGIC = Object.freeze([0x58, 0x46, 0x57, 0x50]); // "XFWP"
export const PACKAGE_FORMAT_VERSION = 1;
export const SIGNATURE_ECDSA_P256_SHA256 = 1;
export const SIGNATURE_BYTES = 64;
export const IMAGE_HASH_BYTES = 32;
export const MAX_VERSION_BYTES = 32;
export const MAX_NAME_BYTES = 64;
/** Fixed part before the version: magic, format, algorithm, header length, image length, hash. */
export const FIXED_HEADER_BYTES = 44;
/** Largest header a package can have; read this much to be sure to hold the header. */
export const MAX_HEADER_BYTES = FIXED_HEADER_BYTES + 1 + MAX_VERSION_BYTES + 1 + MAX_NAME_BYTES + SIGNATURE_BYTES;

export interface PackageHeader {
  readonly headerLength: number;
  readonly imageLength: number;
  readonly imageHash: Uint8Array;
  readonly version: string;
  readonly name: string;
  /** Header bytes 0 .. headerLength − 64: what the signature signs. */
  readonly signedPart: Uint8Array;
  readonly signature: Uint8Array;
}

/** Why a header was refused; the text names the field. */
export type HeaderProblem = { readonly problem: "truncated" | "bad-magic" | "unsupported-format" | "unsupported-algorithm" | "malformed"; readonly detail: string };

/**
 * Parses a package header from its first bytes (at least the header; more is
 * ignored). "truncated" means more bytes are needed.
 */
export function decodePackageHeader(bytes: Uint8Array): PackageHeader | HeaderProblem {
  if (bytes.length < FIXED_HEADER_BYTES) return { problem: "truncated", detail: `${bytes.length} bytes, the header needs at least ${FIXED_HEADER_BYTES}` };
  for (let i = 0; i < 4; i++) if (bytes[i] !== PACKAGE_MAGIC[i]) return { problem: "bad-magic", detail: "not a firmware package (no XFWP magic)" };
  if (bytes[4] !== PACKAGE_FORMAT_VERSION) return { problem: "unsupported-format", detail: `package format ${bytes[4]}, this firmware reads ${PACKAGE_FORMAT_VERSION}` };
  if (bytes[5] !== SIGNATURE_ECDSA_P256_SHA256) return { problem: "unsupported-algorithm", detail: `signature algorithm ${bytes[5]}, this firmware checks ${SIGNATURE_ECDSA_P256_SHA256} (ECDSA P-256)` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(6);
  const imageLength = view.getUint32(8);
  if (headerLength > MAX_HEADER_BYTES || headerLength < FIXED_HEADER_BYTES + 2 + 1 + SIGNATURE_BYTES) return { problem: "malformed", detail: `header length ${headerLength} out of range` };
  if (bytes.length < headerLength) return { problem: "truncated", detail: `${bytes.length} bytes of a ${headerLength}-byte header` };
  const versionLength = bytes[FIXED_HEADER_BYTES]!;
  if (versionLength < 1 || versionLength > MAX_VERSION_BYTES) return { problem: "malformed", detail: `version length ${versionLength}` };
  const nameAt = FIXED_HEADER_BYTES + 1 + versionLength;
  const nameLength = bytes[nameAt]!;
  if (nameLength > MAX_NAME_BYTES) return { problem: "malformed", detail: `name length ${nameLength}` };
  if (nameAt + 1 + nameLength + SIGNATURE_BYTES !== headerLength) return { problem: "malformed", detail: "header length does not match its fields" };
  const signedLength = headerLength - SIGNATURE_BYTES;
  return {
    headerLength,
    imageLength,
    imageHash: bytes.slice(12, 12 + IMAGE_HASH_BYTES),
    version: utf8Decode(bytes.subarray(FIXED_HEADER_BYTES + 1, nameAt)),
    name: utf8Decode(bytes.subarray(nameAt + 1, nameAt + 1 + nameLength)),
    signedPart: bytes.slice(0, signedLength),
    signature: bytes.slice(signedLength, headerLength),
  };
}

/** The header without its signature (what a signer signs); the caller appends the 64 signature bytes. */
export function encodeSignedPart(fields: { readonly imageLength: number; readonly imageHash: Uint8Array; readonly version: string; readonly name: string }): Uint8Array {
  const version = utf8Encode(fields.version);
  const name = utf8Encode(fields.name);
  if (version.length < 1 || version.length > MAX_VERSION_BYTES) throw new RangeError(`version must be 1..${MAX_VERSION_BYTES} bytes of UTF-8`);
  if (name.length > MAX_NAME_BYTES) throw new RangeError(`name must be at most ${MAX_NAME_BYTES} bytes of UTF-8`);
  if (fields.imageHash.length !== IMAGE_HASH_BYTES) throw new RangeError("image hash must be 32 bytes");
  const signedLength = FIXED_HEADER_BYTES + 1 + version.length + 1 + name.length;
  const bytes = new Uint8Array(signedLength);
  const view = new DataView(bytes.buffer);
  bytes.set(PACKAGE_MAGIC, 0);
  bytes[4] = PACKAGE_FORMAT_VERSION;
  bytes[5] = SIGNATURE_ECDSA_P256_SHA256;
  view.setUint16(6, signedLength + SIGNATURE_BYTES);
  view.setUint32(8, fields.imageLength);
  bytes.set(fields.imageHash, 12);
  bytes[FIXED_HEADER_BYTES] = version.length;
  bytes.set(version, FIXED_HEADER_BYTES + 1);
  bytes[FIXED_HEADER_BYTES + 1 + version.length] = name.length;
  bytes.set(name, FIXED_HEADER_BYTES + 2 + version.length);
  return bytes;
}
