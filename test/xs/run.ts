/**
 * Runs the conformance suites inside the XS engine and prints their results.
 * XS exits silently on an uncaught exception, so nothing is assumed: the run
 * passes only if every test reported a pass and the entry said it finished.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FirmwareHost, BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { xsnapWorkerBinary } from "../../hal/host/node/xs-worker.js";

const RUN_TIMEOUT_MS = 10 * 60 * 1000;

async function main(): Promise<number> {
  const filter = process.argv[2] ?? "";
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-xs-"));
  let passed = 0;
  let failed = 0;
  let finished = false;
  let crash: string | undefined;
  let done: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  const host = new FirmwareHost({
    stateDir,
    config: { log: "warn", filter },
    entry: path.join(BUILD_ROOT, "test", "xs", "entry.js"),
    writeLine: (line) => process.stdout.write(`  ${line}\n`),
    onRequest: (op, header) => {
      if (op === "test-result") {
        if (header["passed"]) {
          passed++;
          process.stdout.write(`  ok   ${String(header["name"])} (${String(header["ms"])} ms)\n`);
        } else {
          failed++;
          process.stdout.write(`  FAIL ${String(header["name"])}\n       ${String(header["message"])}\n`);
        }
        return { header: {} };
      }
      if (op === "tests-done" || op === "tests-crashed") {
        finished = op === "tests-done";
        if (!finished) crash = String(header["message"]);
        done();
        return { header: {} };
      }
      return undefined;
    },
    onFatal: (error) => {
      crash = error.message;
      done();
    },
  });
  const worker = xsnapWorkerBinary();
  const kind = !worker.dtls
    ? `stock xsnap-worker; no DTLS or crypto, the dtls and crypto suites skip: ${worker.missing ?? ""}`
    : worker.crypto
      ? "xsnap-worker with the DTLS and crypto bindings"
      : "xsnap-worker with the DTLS binding, built before modules/crypto: the crypto suites skip (npm run build:worker adds it)";
  process.stdout.write(`Conformance suites inside XS (${kind}):\n`);
  const timer = setTimeout(() => {
    crash = `no result within ${RUN_TIMEOUT_MS / 1000} s`;
    done();
  }, RUN_TIMEOUT_MS);
  try {
    await host.start();
    await allDone;
  } catch (error) {
    crash = (error as Error).message;
  } finally {
    clearTimeout(timer);
    await host.stop(1000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  if (crash) process.stdout.write(`XS run broke off: ${crash}\n`);
  if (!finished && !crash) process.stdout.write("XS run ended without reporting completion\n");
  process.stdout.write(`XS: ${passed} passed, ${failed} failed\n`);
  return failed === 0 && finished && passed > 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${String(error)}\nXS: 0 passed, 1 failed\n`);
  process.exit(1);
});
