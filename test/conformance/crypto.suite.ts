import { assert, suite } from "./harness.js";
import { cryptoOf, flipped, fromHex, sha256Of, toHex } from "./crypto-helpers.js";

// SHA-256 test vectors (FIPS 180-2 examples) and one 1 MiB input hashed once with node:crypto.
const ASCII = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ABC_HASH = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const NIST_448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const NIST_448_HASH = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
const MIB_HASH = "63d0a89c3d8c7d8ac150c982582b527d7b85508355cc5b4e7654616d1bc3c8f6";

function mebibyte(): Uint8Array {
  const bytes = new Uint8Array(1 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >>> 8) + (i >>> 16) * 7) & 0xff;
  return bytes;
}

// One ECDSA P-256 vector made once with node:crypto: KEY signed DIGEST (SHA-256 of a text) as SIGNATURE (r ‖ s).
const KEY = fromHex("04494e50681d9cf2ecfbd531f7bd846f7089dbc5671c6889da9ad1445f45834ef85b0e30f412ff3f7ee1b4d8921082c8740374ef18aa2fb9cba2f0490c1c537714");
const DIGEST = fromHex("1c0ea75357f0e9900361bafd2af0bc0987b212ef90b4adc80eb57ad664fafa95");
const SIGNATURE = fromHex("a93acd5dcffad1b929f260456604062bc3e0c044f3dc8fb0f7513773ddab27297da77ae76d4da106967ead9100be0115fb67afbf3e62b5331970b4f22dd6b8da");
const OTHER_KEY = fromHex("04d3e4613249c4cc7182b17b6edfa3e1a5f572dcb216330e5472253fd3ade87aa995ee6d7cb51ae86750e15465418f09854439639098537faf6ddd23dcba571be6");
/** The order n of P-256's base point. */
const ORDER = fromHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

function withR(r: Uint8Array): Uint8Array {
  const signature = SIGNATURE.slice();
  signature.set(r, 0);
  return signature;
}

function withS(s: Uint8Array): Uint8Array {
  const signature = SIGNATURE.slice();
  signature.set(s, 32);
  return signature;
}

export default suite("crypto", (test) => {
  test("SHA-256 of the empty input, \"abc\" and the 448-bit NIST message", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    assert.equal(toHex(sha256Of(engine)), EMPTY_HASH, "empty");
    assert.equal(toHex(sha256Of(engine, ASCII("abc"))), ABC_HASH, "abc");
    assert.equal(toHex(sha256Of(engine, ASCII(NIST_448))), NIST_448_HASH, "448 bits");
    assert.equal(toHex(sha256Of(engine, ASCII("a"), ASCII("bc"))), ABC_HASH, "abc in two updates");
    assert.equal(toHex(sha256Of(engine, new Uint8Array(0), ASCII("abc"), new Uint8Array(0))), ABC_HASH, "empty updates change nothing");
  });

  test("SHA-256 of 1 MiB in odd-sized chunks (views into one buffer) equals the one-shot and the precomputed hash", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    const bytes = mebibyte();
    assert.equal(toHex(sha256Of(engine, bytes)), MIB_HASH, "one update");
    const sizes = [1, 3, 63, 64, 65, 127, 4097, 333, 7];
    const hash = engine.createSha256();
    let chunks = 0;
    for (let offset = 0; offset < bytes.length; chunks++) {
      const end = Math.min(bytes.length, offset + sizes[chunks % sizes.length]!);
      hash.update(bytes.subarray(offset, end));
      offset = end;
    }
    assert.ok(chunks > 1000, `${chunks} chunks`);
    assert.equal(toHex(hash.digest()), MIB_HASH, "chunked");
  });

  test("digest() ends a hash: update() and digest() after it throw; hashes are independent", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    const a = engine.createSha256();
    const b = engine.createSha256();
    a.update(ASCII("a"));
    b.update(ASCII(NIST_448));
    a.update(ASCII("bc"));
    const digest = a.digest();
    assert.ok(digest instanceof Uint8Array && digest.length === 32, "a 32-byte Uint8Array");
    assert.equal(toHex(digest), ABC_HASH);
    assert.throws(() => a.update(ASCII("d")), "already ended");
    assert.throws(() => a.digest(), "already ended");
    assert.equal(toHex(b.digest()), NIST_448_HASH);
  });

  test("ECDSA P-256: the vector made with node:crypto verifies", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    assert.equal(engine.verifyP256(KEY, DIGEST, SIGNATURE), true);
    // Views with an offset into a larger buffer are read from their offset.
    const padded = new Uint8Array(200);
    padded.set(SIGNATURE, 100);
    assert.equal(engine.verifyP256(KEY, DIGEST, padded.subarray(100, 164)), true, "signature as a view");
  });

  test("ECDSA P-256: a flipped bit in r, s or the digest, or another key, is refused", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    assert.equal(engine.verifyP256(KEY, DIGEST, flipped(SIGNATURE, 0, 7)), false, "r's top bit");
    assert.equal(engine.verifyP256(KEY, DIGEST, flipped(SIGNATURE, 31)), false, "r's bottom bit");
    assert.equal(engine.verifyP256(KEY, DIGEST, flipped(SIGNATURE, 40, 3)), false, "a bit of s");
    assert.equal(engine.verifyP256(KEY, DIGEST, flipped(SIGNATURE, 63)), false, "s's bottom bit");
    assert.equal(engine.verifyP256(KEY, flipped(DIGEST, 0), SIGNATURE), false, "digest's first byte");
    assert.equal(engine.verifyP256(KEY, flipped(DIGEST, 31, 7), SIGNATURE), false, "digest's last byte");
    assert.equal(engine.verifyP256(OTHER_KEY, DIGEST, SIGNATURE), false, "another key");
  });

  test("ECDSA P-256: r or s zero, equal to n or above it is refused", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    const zero = new Uint8Array(32);
    const ones = new Uint8Array(32).fill(0xff);
    assert.equal(engine.verifyP256(KEY, DIGEST, withR(zero)), false, "r = 0");
    assert.equal(engine.verifyP256(KEY, DIGEST, withS(zero)), false, "s = 0");
    assert.equal(engine.verifyP256(KEY, DIGEST, new Uint8Array(64)), false, "r = s = 0");
    assert.equal(engine.verifyP256(KEY, DIGEST, withR(ORDER)), false, "r = n");
    assert.equal(engine.verifyP256(KEY, DIGEST, withS(ORDER)), false, "s = n");
    assert.equal(engine.verifyP256(KEY, DIGEST, withR(ones)), false, "r = 2^256 - 1");
    assert.equal(engine.verifyP256(KEY, DIGEST, withS(ones)), false, "s = 2^256 - 1");
  });

  test("ECDSA P-256: a key off the curve, compressed, with another prefix or all zero is refused", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    assert.equal(engine.verifyP256(flipped(KEY, 64), DIGEST, SIGNATURE), false, "Y with a flipped bit: not on the curve");
    assert.equal(engine.verifyP256(flipped(KEY, 1), DIGEST, SIGNATURE), false, "X with a flipped bit");
    const zeroPoint = new Uint8Array(65);
    zeroPoint[0] = 0x04;
    assert.equal(engine.verifyP256(zeroPoint, DIGEST, SIGNATURE), false, "(0, 0)");
    const prefixed = KEY.slice();
    prefixed[0] = 0x02;
    assert.equal(engine.verifyP256(prefixed, DIGEST, SIGNATURE), false, "65 bytes with a compressed prefix");
    const compressed = new Uint8Array(33);
    compressed[0] = 0x02 | (KEY[64]! & 1);
    compressed.set(KEY.subarray(1, 33), 1);
    assert.equal(engine.verifyP256(compressed, DIGEST, SIGNATURE), false, "the same key compressed (33 bytes)");
  });

  test("ECDSA P-256: wrong lengths and values that are not bytes are refused, never thrown", ({ platform }) => {
    const engine = cryptoOf(platform, "crypto");
    if (!engine) return;
    assert.equal(engine.verifyP256(KEY.subarray(0, 64), DIGEST, SIGNATURE), false, "64-byte key");
    assert.equal(engine.verifyP256(new Uint8Array(66).fill(4), DIGEST, SIGNATURE), false, "66-byte key");
    assert.equal(engine.verifyP256(KEY, DIGEST.subarray(0, 31), SIGNATURE), false, "31-byte digest");
    const longDigest = new Uint8Array(33);
    longDigest.set(DIGEST);
    assert.equal(engine.verifyP256(KEY, longDigest, SIGNATURE), false, "33-byte digest");
    assert.equal(engine.verifyP256(KEY, new Uint8Array(0), SIGNATURE), false, "empty digest");
    assert.equal(engine.verifyP256(KEY, DIGEST, SIGNATURE.subarray(0, 63)), false, "63-byte signature");
    const longSignature = new Uint8Array(65);
    longSignature.set(SIGNATURE);
    assert.equal(engine.verifyP256(KEY, DIGEST, longSignature), false, "65-byte signature");
    // The DER form (SEQUENCE of two INTEGERs) is not r ‖ s.
    const der = new Uint8Array([0x30, 0x44, 0x02, 0x20, ...SIGNATURE.subarray(0, 32), 0x02, 0x20, ...SIGNATURE.subarray(32)]);
    assert.equal(engine.verifyP256(KEY, DIGEST, der), false, "a DER signature");
    const notBytes = [undefined, null, "04", 65, {}, Array.from(KEY)] as unknown as Uint8Array[];
    for (const value of notBytes) {
      assert.equal(engine.verifyP256(value, DIGEST, SIGNATURE), false, `key ${String(value)}`);
      assert.equal(engine.verifyP256(KEY, value, SIGNATURE), false, `digest ${String(value)}`);
      assert.equal(engine.verifyP256(KEY, DIGEST, value), false, `signature ${String(value)}`);
    }
    const call = engine.verifyP256 as unknown as (...args: unknown[]) => boolean;
    assert.equal(call(KEY, DIGEST), false, "two arguments");
    assert.equal(call(), false, "no argument");
  });
});
