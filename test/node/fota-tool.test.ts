/**
 * `npm run fota` (here `node build/tools/fota.js`, which the script runs after
 * the build): keygen, make-image, sign, verify, and its usage errors; then
 * packages signed in Node checked in XS by modules/fota/package-verifier.ts
 * through the mbedtls binding (test/xs/fota-verify-entry.ts), with the same
 * verdicts as the Node check.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { xsnapWorkerBinary } from "../../hal/host/node/xs-worker.js";
import { generateKeys, rawPublicKey, signPackage, toHex, verifyPackageNode } from "../../tools/fota/package-signer.js";
import { makeTestImage } from "../../tools/fota/test-image.js";

const CLI = path.join(BUILD_ROOT, "tools", "fota.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "fota-tool-"));

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function fota(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, INIT_CWD: work } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const at = (file: string) => path.join(work, file);

describe("npm run fota", () => {
  test("keygen writes a PKCS#8 private key (0600) and the public point, prints fotaPublicKey=, and keeps existing keys", () => {
    const first = fota("keygen");
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const privatePem = fs.readFileSync(at("fota-keys/fota-private.pem"), "utf8");
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(fs.statSync(at("fota-keys/fota-private.pem")).mode & 0o777).toBe(0o600);
    const publicHex = fs.readFileSync(at("fota-keys/fota-public.hex"), "utf8").trim();
    expect(publicHex).toMatch(/^04[0-9a-f]{128}$/);
    expect(toHex(rawPublicKey(crypto.createPublicKey(privatePem)))).toBe(publicHex);
    expect(first.stdout).toContain(`fotaPublicKey=${publicHex}\n`);

    const again = fota("keygen");
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exist.*--force/);
    expect(fs.readFileSync(at("fota-keys/fota-private.pem"), "utf8")).toBe(privatePem);

    const forced = fota("keygen", "--out", "other-keys");
    expect(forced.status).toBe(0);
    expect(fota("keygen", "--out", "other-keys", "--force").status).toBe(0);
    expect(fs.readFileSync(at("other-keys/fota-public.hex"), "utf8").trim()).not.toBe(publicHex);
  });

  test("make-image is deterministic for a size and seed", () => {
    expect(fota("make-image", "--size", "1048576", "--seed", "3", "--out", "image.bin").status).toBe(0);
    expect(fota("make-image", "--size", "1048576", "--seed", "3", "--out", "again.bin").status).toBe(0);
    expect(fota("make-image", "--size", "1048576", "--seed", "4", "--out", "seed4.bin").status).toBe(0);
    const image = fs.readFileSync(at("image.bin"));
    expect(image.length).toBe(1048576);
    expect(image.equals(fs.readFileSync(at("again.bin")))).toBe(true);
    expect(image.equals(fs.readFileSync(at("seed4.bin")))).toBe(false);
    expect(image.equals(Buffer.from(makeTestImage(1048576, 3)))).toBe(true);
  });

  test("sign writes header + image; verify accepts it and prints the header; tampered or foreign packages exit 1", () => {
    const signed = fota("sign", "image.bin", "--key", "fota-keys/fota-private.pem", "--version", "1.2.0", "--name", "demo");
    expect(signed.stderr).toBe("");
    expect(signed.status).toBe(0);
    const image = fs.readFileSync(at("image.bin"));
    const bytes = fs.readFileSync(at("image.bin.xfw"));
    expect(bytes.subarray(0, 4).toString("latin1")).toBe("XFWP");
    expect(bytes.subarray(bytes.length - image.length).equals(image)).toBe(true);
    expect(signed.stdout).toContain(`${bytes.length} bytes`);
    expect(signed.stdout).toContain(crypto.createHash("sha256").update(image).digest("hex"));
    expect(signed.stdout).toContain("1.2.0");

    const ok = fota("verify", "image.bin.xfw", "--public", "fota-keys/fota-public.hex");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/OK/);
    expect(ok.stdout).toMatch(/version: 1\.2\.0\nname: +demo/);
    const publicHex = fs.readFileSync(at("fota-keys/fota-public.hex"), "utf8").trim();
    expect(fota("verify", "image.bin.xfw", "--public-key", publicHex).status).toBe(0);

    const tamper = (name: string, index: number) => {
      const copy = Buffer.from(bytes);
      copy[index] = copy[index]! ^ 1;
      fs.writeFileSync(at(name), copy);
      return fota("verify", name, "--public", "fota-keys/fota-public.hex");
    };
    const image1 = tamper("image-flip.xfw", bytes.length - 1000);
    expect(image1.status).toBe(1);
    expect(image1.stderr).toMatch(/REFUSED \(bad-hash\)/);
    const header1 = tamper("header-flip.xfw", 46);
    expect(header1.status).toBe(1);
    expect(header1.stderr).toMatch(/REFUSED \(bad-signature\)/);
    fs.writeFileSync(at("short.xfw"), bytes.subarray(0, bytes.length - 1));
    expect(fota("verify", "short.xfw", "--public", "fota-keys/fota-public.hex").stderr).toMatch(/REFUSED \(truncated\)/);
    const foreign = fota("verify", "image.bin.xfw", "--public", "other-keys/fota-public.hex");
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toMatch(/bad-signature/);
    const bare = fota("verify", "image.bin", "--public", "fota-keys/fota-public.hex");
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/REFUSED \(unsigned\)/);
  });

  test("usage errors exit 2 with a message; --help prints the usage; a missing file exits 1", () => {
    const usage: string[][] = [
      [],
      ["frobnicate"],
      ["sign", "image.bin", "--key", "fota-keys/fota-private.pem"],
      ["sign", "--key", "fota-keys/fota-private.pem", "--version", "1"],
      ["sign", "image.bin", "--key", "fota-keys/fota-private.pem", "--version", "x".repeat(33)],
      ["sign", "image.bin", "--key", "fota-keys/fota-private.pem", "--version", "1", "--colour", "red"],
      ["verify", "image.bin.xfw"],
      ["verify", "image.bin.xfw", "--public", "a", "--public-key", "04"],
      ["verify", "image.bin.xfw", "--public-key", "0411"],
      ["make-image", "--size", "ten", "--out", "x.bin"],
      ["make-image", "--size", "10"],
      ["keygen", "--out"],
      ["keygen", "extra"],
    ];
    for (const args of usage) {
      const result = fota(...args);
      expect([args.join(" "), result.status]).toEqual([args.join(" "), 2]);
      expect(result.stderr.length).toBeGreaterThan(10);
    }
    const help = fota("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/keygen[\s\S]*sign IMAGE[\s\S]*verify PACKAGE[\s\S]*make-image/);
    expect(fota("sign", "--help").status).toBe(0);
    const missing = fota("sign", "nothing.bin", "--key", "fota-keys/fota-private.pem", "--version", "1");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the image nothing\.bin/);
  });
});

const WORKER = xsnapWorkerBinary();
const why = WORKER.crypto ? undefined : `the XS worker has no crypto binding (${WORKER.missing ?? "built before modules/crypto: npm run build:worker"})`;
if (why) {
  process.stderr.write(`fota-tool.test: XS part skipped, ${why}\n`);
  if (process.env["CI"]) throw new Error(why);
}
const maybe = why ? describe.skip : describe;

interface Verdict {
  readonly index: number;
  readonly ok: boolean;
  readonly reason?: string;
  readonly version?: string;
  readonly reads: number;
  readonly largest: number;
}

/** Runs test/xs/fota-verify-entry.ts on `packages`: the verdicts XS reached. */
async function verifyInXs(packages: readonly Uint8Array[], publicKeyHex: string): Promise<Verdict[]> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fota-xs-"));
  const verdicts: Verdict[] = [];
  let failed: string | undefined;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const host = new FirmwareHost({
    stateDir,
    config: { log: "warn", publicKey: publicKeyHex, lengths: packages.map((bytes) => bytes.length).join(",") },
    entry: path.join(BUILD_ROOT, "test", "xs", "fota-verify-entry.js"),
    writeLine: (line) => process.stderr.write(`  ${line}\n`),
    onRequest: (op, header) => {
      if (op === "package-read") {
        const bytes = packages[header["index"] as number]!;
        const offset = header["offset"] as number;
        return { header: {}, payload: bytes.subarray(offset, offset + (header["length"] as number)) };
      }
      if (op === "package-verdict") verdicts.push(header as unknown as Verdict);
      else if (op === "packages-done") {
        failed = header["failed"] as string | undefined;
        done();
      } else return undefined;
      return { header: {} };
    },
    onFatal: (error) => {
      failed = error.message;
      done();
    },
  });
  try {
    await host.start();
    await finished;
  } finally {
    await host.stop(1000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  if (failed) throw new Error(`XS: ${failed}`);
  return verdicts;
}

maybe("packages signed in Node, verified in XS through modules/crypto", () => {
  test("a 1 MiB package verifies; altered ones get the same refusal as in Node", async () => {
    const keys = generateKeys();
    const other = generateKeys();
    const image = makeTestImage(1048576, 11);
    const good = signPackage(image, keys.privateKeyPem, { version: "2.0.1", name: "bench" });
    const flip = (index: number) => {
      const copy = good.slice();
      copy[index] = copy[index]! ^ 0x80;
      return copy;
    };
    const headerLength = good.length - image.length;
    const packages = [
      good,
      flip(good.length - 1), // image
      flip(46), // signed header (the version text)
      flip(headerLength - 1), // signature
      good.subarray(0, good.length - 4096), // truncated
      signPackage(image, other.privateKeyPem, { version: "2.0.1" }), // another signer
      image.subarray(0, 5000), // not a package
      signPackage(new Uint8Array(0), keys.privateKeyPem, { version: "0" }), // empty image
    ];
    const verdicts = await verifyInXs(packages, keys.publicKeyHex);
    expect(verdicts.map((verdict) => verdict.index)).toEqual(packages.map((_, index) => index));
    const node = packages.map((bytes) => verifyPackageNode(bytes, keys.publicKey));
    expect(verdicts.map((verdict) => (verdict.ok ? "ok" : verdict.reason))).toEqual(node.map((verdict) => (verdict.ok ? "ok" : verdict.reason)));
    expect(node.map((verdict) => (verdict.ok ? "ok" : verdict.reason))).toEqual(["ok", "bad-hash", "bad-signature", "bad-signature", "truncated", "bad-signature", "unsigned", "ok"]);
    expect(verdicts[0]!.version).toBe("2.0.1");
    // 1 MiB in 4 KiB reads after the header's.
    expect(verdicts[0]!.reads).toBe(1 + 256);
    expect(Math.max(...verdicts.map((verdict) => verdict.largest))).toBeLessThanOrEqual(4096);
  }, 60000);
});
