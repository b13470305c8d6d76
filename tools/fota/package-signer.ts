/**
 * Node side of signed firmware packages (modules/fota/package-format.ts):
 * key generation, signing and verification with node:crypto. Used by
 * `npm run fota` (tools/fota.ts), and importable by the development server
 * and tests. The device checks the same packages with
 * modules/fota/package-verifier.ts over mbedtls.
 */
import crypto, { type KeyObject } from "node:crypto";
import { decodePackageHeader, encodeSignedPart, SIGNATURE_BYTES } from "../../modules/fota/package-format.js";
import { PUBLIC_KEY_BYTES, type PackageVerdict } from "../../modules/fota/package-verifier.js";

export interface FotaKeys {
  /** PKCS#8 PEM of the P-256 private key. */
  readonly privateKeyPem: string;
  /** The public key as the device takes it: the uncompressed point 04 ‖ X ‖ Y. */
  readonly publicKey: Uint8Array;
  /** `publicKey` as 130 hex digits: the value of the firmware's `fotaPublicKey`. */
  readonly publicKeyHex: string;
}

export interface PackageFields {
  /** Image version, 1..32 bytes of UTF-8. */
  readonly version: string;
  /** Package name, up to 64 bytes of UTF-8 (default empty). */
  readonly name?: string;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The uncompressed point of a P-256 public (or private) key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: "jwk" });
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not a P-256 key");
  return new Uint8Array(Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]));
}

/** A key object from the uncompressed point; throws when it is not a point on P-256. */
export function publicKeyFromRaw(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== PUBLIC_KEY_BYTES || publicKey[0] !== 0x04) {
    throw new Error(`a P-256 public key is ${PUBLIC_KEY_BYTES} bytes starting with 04 (uncompressed point), got ${publicKey.length} bytes`);
  }
  const x = Buffer.from(publicKey.subarray(1, 33)).toString("base64url");
  const y = Buffer.from(publicKey.subarray(33, 65)).toString("base64url");
  try {
    return crypto.createPublicKey({ key: { kty: "EC", crv: "P-256", x, y }, format: "jwk" });
  } catch {
    throw new Error("the public key is not a point on P-256");
  }
}

/** The P-256 private key of a PKCS#8 (or SEC 1) PEM; throws with a clear message otherwise. */
export function privateKeyFromPem(privateKeyPem: string): KeyObject {
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new Error(`not a private key in PEM: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error(`the signing key must be ECDSA P-256, this one is ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ""}`);
  }
  return key;
}

/** A fresh P-256 key pair. */
export function generateKeys(): FotaKeys {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const raw = rawPublicKey(publicKey);
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: raw,
    publicKeyHex: toHex(raw),
  };
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHash("sha256").update(bytes).digest());
}

/**
 * The signed package of `image`: the header (format 1, ECDSA P-256 over
 * SHA-256 of the header's signed part, r ‖ s), then the image.
 */
export function signPackage(image: Uint8Array, privateKeyPem: string, fields: PackageFields): Uint8Array {
  const key = privateKeyFromPem(privateKeyPem);
  const signedPart = encodeSignedPart({ imageLength: image.length, imageHash: sha256(image), version: fields.version, name: fields.name ?? "" });
  const signature = crypto.sign("sha256", signedPart, { key, dsaEncoding: "ieee-p1363" });
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`unexpected signature length ${signature.length}`);
  const bytes = new Uint8Array(signedPart.length + SIGNATURE_BYTES + image.length);
  bytes.set(signedPart, 0);
  bytes.set(signature, signedPart.length);
  bytes.set(image, signedPart.length + SIGNATURE_BYTES);
  return bytes;
}

/**
 * The checks of modules/fota/package-verifier.ts, in Node and in the same
 * order, with the same reasons: header, signature, length, image hash.
 */
export function verifyPackageNode(bytes: Uint8Array, publicKey: Uint8Array): PackageVerdict {
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(publicKey);
  } catch (error) {
    return { ok: false, reason: "bad-key", detail: (error as Error).message };
  }
  const header = decodePackageHeader(bytes);
  if ("problem" in header) {
    const reason = header.problem === "bad-magic" ? "unsigned" : header.problem === "truncated" || header.problem === "malformed" ? header.problem : "unsupported";
    return { ok: false, reason, detail: header.detail };
  }
  if (!crypto.verify("sha256", header.signedPart, { key, dsaEncoding: "ieee-p1363" }, header.signature)) {
    return { ok: false, reason: "bad-signature", detail: "the header's signature does not verify with this public key" };
  }
  const expected = header.headerLength + header.imageLength;
  if (bytes.length < expected) {
    return { ok: false, reason: "truncated", detail: `${bytes.length} bytes; the header (${header.headerLength}) and the image (${header.imageLength}) need ${expected}` };
  }
  if (bytes.length > expected) return { ok: false, reason: "malformed", detail: `${bytes.length - expected} bytes after the image` };
  const actual = sha256(bytes.subarray(header.headerLength));
  if (toHex(actual) !== toHex(header.imageHash)) {
    return { ok: false, reason: "bad-hash", detail: `the image's SHA-256 is ${toHex(actual)}, the signed header says ${toHex(header.imageHash)}` };
  }
  return { ok: true, header };
}
