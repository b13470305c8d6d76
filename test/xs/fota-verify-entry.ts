// Runs inside XS for test/node/fota-tool.test.ts: verifies the packages the
// Node side holds (config "packages": how many; "lengths": their sizes) with
// modules/fota/package-verifier.ts through the crypto binding, reading each
// through the bridge in the verifier's own chunks, and reports each verdict.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { decodeFrame, encodeFrame } from "../../hal/host/bridge-frame.js";
import { parsePublicKey, verifyPackage } from "../../modules/fota/package-verifier.js";

function report(header: object): void {
  issueCommand(encodeFrame(header));
}

const platform = createPlatform(config);

function run(): void {
  const crypto = platform.crypto;
  if (!crypto) throw new Error("this XS worker has no crypto binding");
  const publicKey = parsePublicKey(String(config["publicKey"]));
  const lengths = String(config["lengths"]).split(",").map(Number);
  for (let index = 0; index < lengths.length; index++) {
    let reads = 0;
    let largest = 0;
    const read = (offset: number, length: number): Uint8Array => {
      reads++;
      largest = Math.max(largest, length);
      return decodeFrame(issueCommand(encodeFrame({ op: "package-read", index, offset, length }))).payload ?? new Uint8Array(0);
    };
    const verdict = verifyPackage(read, lengths[index]!, crypto, publicKey);
    report(
      verdict.ok
        ? { op: "package-verdict", index, ok: true, version: verdict.header.version, name: verdict.header.name, imageLength: verdict.header.imageLength, reads, largest }
        : { op: "package-verdict", index, ok: false, reason: verdict.reason, detail: verdict.detail, reads, largest },
    );
  }
}

try {
  run();
  report({ op: "packages-done" });
} catch (error) {
  report({ op: "packages-done", failed: String(error) });
}
