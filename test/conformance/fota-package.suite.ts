import type { CryptoEngine } from "../../hal/crypto.js";
import { MAX_HEADER_BYTES } from "../../modules/fota/package-format.js";
import { IMAGE_CHUNK_BYTES, parsePublicKey, verifyPackage, verifyPackageBytes, type PackageVerdict } from "../../modules/fota/package-verifier.js";
import { makeTestImage } from "../../tools/fota/test-image.js";
import { cryptoOf, flipped, fromHex, toHex } from "./crypto-helpers.js";
import { assert, suite } from "./harness.js";

// Made once in Node with tools/fota/package-signer.ts: signPackage(makeTestImage(10000, 42), <private key>,
// { version: "1.2.0", name: "conformance" }); HEADER is the package's first 126 bytes, the image follows it.
const KEY = fromHex("04d877bf7d4aa10f64402e2d846eff84a25263f3d96a46300e6bb5d9aa83795a6811bd856c17bac6f4545b487e657289995bc8ec8640053565d517645d5922c964");
const OTHER_KEY = fromHex("049a614c071800e23f429c7c8a0e32ad5422f96dee05bf848dac8c4f5357a499859c035b81e2694aa7b317170b74cec88e4763a8129f228b622ddc82d7803409e6");
const HEADER = fromHex(
  "584657500101007e00002710ccad5d40f7fbfc422629b9548db49260b1df733541b402da9145ba89bb0b13e205312e322e300b636f6e666f726d616e6365" +
    "11e5b44aecbea40cc45474c8113babb5028d5a0a2a1ffd2488e4df3c80f931f1c76266aa95636bb6ad47ed39facad5df62081e9b049174faa0ddbe5218a2d93b",
);
const IMAGE_LENGTH = 10000;
const IMAGE_HASH = "ccad5d40f7fbfc422629b9548db49260b1df733541b402da9145ba89bb0b13e2";

function signedPackage(): Uint8Array {
  const bytes = new Uint8Array(HEADER.length + IMAGE_LENGTH);
  bytes.set(HEADER, 0);
  bytes.set(makeTestImage(IMAGE_LENGTH, 42), HEADER.length);
  return bytes;
}

function refusal(verdict: PackageVerdict): string {
  return verdict.ok ? "ok" : verdict.reason;
}

function check(engine: CryptoEngine, bytes: Uint8Array, key: Uint8Array = KEY): string {
  return refusal(verifyPackageBytes(bytes, engine, key));
}

export default suite("fota-package", (test) => {
  test("a package signed in Node verifies: header fields, image hash", ({ platform }) => {
    const engine = cryptoOf(platform, "fota-package");
    if (!engine) return;
    const verdict = verifyPackageBytes(signedPackage(), engine, KEY);
    if (!verdict.ok) throw new Error(`refused (${verdict.reason}): ${verdict.detail}`);
    assert.equal(verdict.header.version, "1.2.0");
    assert.equal(verdict.header.name, "conformance");
    assert.equal([verdict.header.headerLength, verdict.header.imageLength], [HEADER.length, IMAGE_LENGTH]);
    assert.equal(toHex(verdict.header.imageHash), IMAGE_HASH);
  });

  test("an altered image is bad-hash; an altered header or signature, or another key, is bad-signature", ({ platform }) => {
    const engine = cryptoOf(platform, "fota-package");
    if (!engine) return;
    const bytes = signedPackage();
    assert.equal(check(engine, flipped(bytes, HEADER.length)), "bad-hash", "image's first byte");
    assert.equal(check(engine, flipped(bytes, bytes.length - 1, 7)), "bad-hash", "image's last byte");
    assert.equal(check(engine, flipped(bytes, HEADER.length + 4096)), "bad-hash", "first byte of the second chunk");
    assert.equal(check(engine, flipped(bytes, 45)), "bad-signature", "version text");
    assert.equal(check(engine, flipped(bytes, 12)), "bad-signature", "image hash in the header");
    assert.equal(check(engine, flipped(bytes, 55)), "bad-signature", "name text");
    assert.equal(check(engine, flipped(bytes, HEADER.length - 64)), "bad-signature", "signature's r");
    assert.equal(check(engine, flipped(bytes, HEADER.length - 1)), "bad-signature", "signature's s");
    assert.equal(check(engine, bytes, OTHER_KEY), "bad-signature", "another key");
    assert.equal(check(engine, bytes, flipped(KEY, 64)), "bad-signature", "a key off the curve");
    assert.equal(check(engine, bytes, KEY.subarray(0, 64)), "bad-key", "64-byte key");
  });

  test("lengths: the header's image length is signed, so a shorter or longer package is refused before hashing", ({ platform }) => {
    const engine = cryptoOf(platform, "fota-package");
    if (!engine) return;
    const bytes = signedPackage();
    assert.equal(check(engine, bytes.subarray(0, bytes.length - 1)), "truncated", "one byte short");
    assert.equal(check(engine, bytes.subarray(0, HEADER.length)), "truncated", "header only");
    assert.equal(check(engine, bytes.subarray(0, HEADER.length - 1)), "truncated", "part of the header");
    assert.equal(check(engine, bytes.subarray(0, 10)), "truncated", "10 bytes");
    assert.equal(check(engine, new Uint8Array(0)), "truncated", "nothing");
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.equal(check(engine, longer), "malformed", "a byte after the image");
    // The image length field altered to match a cut package: the signature no longer holds.
    const cut = bytes.slice(0, bytes.length - 1);
    cut[11] = cut[11]! - 1;
    assert.equal(check(engine, cut), "bad-signature", "length field rewritten");
  });

  test("a bare image is unsigned; another format or algorithm is unsupported; a broken header is malformed", ({ platform }) => {
    const engine = cryptoOf(platform, "fota-package");
    if (!engine) return;
    const bytes = signedPackage();
    assert.equal(check(engine, makeTestImage(IMAGE_LENGTH, 42)), "unsigned", "the image alone");
    const format = bytes.slice();
    format[4] = 2;
    assert.equal(check(engine, format), "unsupported", "format 2");
    const algorithm = bytes.slice();
    algorithm[5] = 2;
    assert.equal(check(engine, algorithm), "unsupported", "algorithm 2");
    const versionLength = bytes.slice();
    versionLength[44] = 0;
    assert.equal(check(engine, versionLength), "malformed", "version length 0");
    const headerLength = bytes.slice();
    headerLength[7] = 0xff;
    assert.equal(check(engine, headerLength), "malformed", "header length out of range");
  });

  test("the header is read once, then the image in order in reads of at most 4 KiB", ({ platform }) => {
    const engine = cryptoOf(platform, "fota-package");
    if (!engine) return;
    const bytes = signedPackage();
    const reads: [number, number][] = [];
    const verdict = verifyPackage((offset, length) => {
      reads.push([offset, length]);
      return bytes.slice(offset, offset + length);
    }, bytes.length, engine, KEY);
    assert.equal(refusal(verdict), "ok");
    assert.equal(reads[0], [0, MAX_HEADER_BYTES]);
    let next = HEADER.length;
    for (const [offset, length] of reads.slice(1)) {
      assert.equal(offset, next, "contiguous");
      assert.ok(length > 0 && length <= IMAGE_CHUNK_BYTES, `read of ${length}`);
      next += length;
    }
    assert.equal(next, bytes.length, "the whole image, once");
    assert.equal(reads.length, 1 + Math.ceil(IMAGE_LENGTH / IMAGE_CHUNK_BYTES));
  });

  test("a read that throws or comes back short is read-failed, with what failed", ({ platform }) => {
    const engine = cryptoOf(platform, "fota-package");
    if (!engine) return;
    const bytes = signedPackage();
    const failing = verifyPackage((offset, length) => {
      if (offset > HEADER.length) throw new Error("flash read error");
      return bytes.slice(offset, offset + length);
    }, bytes.length, engine, KEY);
    assert.equal(refusal(failing), "read-failed");
    assert.ok(!failing.ok && failing.detail.indexOf("flash read error") >= 0, "the error is in the detail");
    const short = verifyPackage((offset, length) => bytes.slice(offset, offset + Math.min(length, 100)), bytes.length, engine, KEY);
    assert.equal(refusal(short), "read-failed", "short header read");
  });

  test("parsePublicKey takes 130 hex digits of an uncompressed point, and says what is wrong otherwise", () => {
    const hex = toHex(KEY);
    assert.equal(parsePublicKey(hex), KEY);
    assert.equal(parsePublicKey(`  ${hex.toUpperCase()}\n`), KEY, "upper case, surrounding space");
    assert.equal(parsePublicKey(hex.replace(/(..)/g, "$1:").slice(0, -1)), KEY, "colon-separated");
    assert.throws(() => parsePublicKey(hex.slice(2)), "expected 130 hex digits");
    assert.throws(() => parsePublicKey(""), "expected 130 hex digits");
    assert.throws(() => parsePublicKey(`${hex.slice(0, -1)}g`), "only hex digits");
    assert.throws(() => parsePublicKey(`02${hex.slice(2)}`), "starts with 04");
  });
});
