/**
 * Checks a signed firmware package (package-format.ts) where it lies, e.g.
 * in the download partition: the header's signature with the configured
 * public key, the package's length, then the image against the header's
 * SHA-256, read through `read` in chunks of at most 4 KiB. Nothing in the
 * header is trusted before its signature has been checked.
 */
import type { CryptoEngine } from "../../hal/crypto.js";
import { decodePackageHeader, MAX_HEADER_BYTES, type PackageHeader } from "./package-format.js";

/** Largest read of the image while hashing it. */
export const IMAGE_CHUNK_BYTES = 4096;
/** An uncompressed P-256 point: 0x04 ‖ X ‖ Y. */
export const PUBLIC_KEY_BYTES = 65;

/**
 * Why a package was refused:
 * - `unsigned`: not a signed package at all (no XFWP magic: a bare image, another file);
 * - `unsupported`: a package format or signature algorithm this firmware does not read;
 * - `malformed`: a header whose fields disagree, or bytes after the image;
 * - `truncated`: fewer bytes than the header (or the signed header's lengths) need;
 * - `bad-key`: the configured public key is not a 65-byte uncompressed point;
 * - `bad-signature`: the header is not signed by that key (or was altered);
 * - `bad-hash`: the image is not the one the signed header describes;
 * - `read-failed`: `read` threw or returned another length than asked.
 */
export type PackageRefusal = "unsigned" | "unsupported" | "malformed" | "truncated" | "bad-key" | "bad-signature" | "bad-hash" | "read-failed";

export type PackageVerdict =
  | { readonly ok: true; readonly header: PackageHeader }
  | { readonly ok: false; readonly reason: PackageRefusal; readonly detail: string };

/** Reads `length` bytes at `offset` of the package. */
export type PackageReader = (offset: number, length: number) => Uint8Array;

function refuse(reason: PackageRefusal, detail: string): PackageVerdict {
  return { ok: false, reason, detail };
}

/** `read`, or a description of how it failed. */
function readExactly(read: PackageReader, offset: number, length: number): Uint8Array | string {
  let bytes: Uint8Array;
  try {
    bytes = read(offset, length);
  } catch (error) {
    return `reading ${length} bytes at ${offset} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  return bytes.length === length ? bytes : `reading ${length} bytes at ${offset} gave ${bytes.length}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function hex(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return text;
}

/**
 * Verifies the package of `packageLength` bytes that `read` gives. Runs to
 * the end synchronously (a 1 MiB image is 256 reads and hash updates). Only
 * an exception of the crypto engine itself (out of memory) escapes.
 */
export function verifyPackage(read: PackageReader, packageLength: number, crypto: CryptoEngine, publicKey: Uint8Array): PackageVerdict {
  if (publicKey.length !== PUBLIC_KEY_BYTES || publicKey[0] !== 0x04) {
    return refuse("bad-key", `the public key must be a ${PUBLIC_KEY_BYTES}-byte uncompressed P-256 point (04…), got ${publicKey.length} bytes`);
  }
  const headerBytes = readExactly(read, 0, Math.min(MAX_HEADER_BYTES, Math.max(0, packageLength)));
  if (typeof headerBytes === "string") return refuse("read-failed", headerBytes);
  const header = decodePackageHeader(headerBytes);
  if ("problem" in header) {
    switch (header.problem) {
      case "bad-magic":
        return refuse("unsigned", header.detail);
      case "unsupported-format":
      case "unsupported-algorithm":
        return refuse("unsupported", header.detail);
      default:
        return refuse(header.problem, header.detail);
    }
  }
  const signedDigest = crypto.createSha256();
  signedDigest.update(header.signedPart);
  if (!crypto.verifyP256(publicKey, signedDigest.digest(), header.signature)) {
    return refuse("bad-signature", "the header's signature does not verify with the configured public key");
  }
  const expected = header.headerLength + header.imageLength;
  if (packageLength < expected) {
    return refuse("truncated", `${packageLength} bytes; the header (${header.headerLength}) and the image (${header.imageLength}) need ${expected}`);
  }
  if (packageLength > expected) return refuse("malformed", `${packageLength - expected} bytes after the image`);
  const imageDigest = crypto.createSha256();
  for (let done = 0; done < header.imageLength; ) {
    const length = Math.min(IMAGE_CHUNK_BYTES, header.imageLength - done);
    const chunk = readExactly(read, header.headerLength + done, length);
    if (typeof chunk === "string") return refuse("read-failed", chunk);
    imageDigest.update(chunk);
    done += length;
  }
  const actual = imageDigest.digest();
  if (!sameBytes(actual, header.imageHash)) {
    return refuse("bad-hash", `the image's SHA-256 is ${hex(actual)}, the signed header says ${hex(header.imageHash)}`);
  }
  return { ok: true, header };
}

/** verifyPackage over a package held in memory. */
export function verifyPackageBytes(bytes: Uint8Array, crypto: CryptoEngine, publicKey: Uint8Array): PackageVerdict {
  return verifyPackage((offset, length) => bytes.subarray(offset, offset + length), bytes.length, crypto, publicKey);
}

/**
 * The `fotaPublicKey` configuration value: the uncompressed P-256 point as
 * 130 hex digits (04 ‖ X ‖ Y; `npm run fota -- keygen` prints it). Spaces
 * and colons between digits are ignored. Throws a RangeError naming the
 * problem; whether the point lies on the curve is known only when a
 * signature is checked with it.
 */
export function parsePublicKey(text: string): Uint8Array {
  const digits = text.replace(/[\s:]/g, "");
  if (!/^[0-9a-fA-F]*$/.test(digits)) throw new RangeError("fotaPublicKey: only hex digits are allowed");
  if (digits.length !== PUBLIC_KEY_BYTES * 2) {
    throw new RangeError(`fotaPublicKey: expected ${PUBLIC_KEY_BYTES * 2} hex digits (an uncompressed P-256 point), got ${digits.length}`);
  }
  const key = new Uint8Array(PUBLIC_KEY_BYTES);
  for (let i = 0; i < PUBLIC_KEY_BYTES; i++) key[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  if (key[0] !== 0x04) throw new RangeError("fotaPublicKey: an uncompressed point starts with 04");
  return key;
}
