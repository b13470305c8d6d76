import { describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Builds the firmware for the Linux simulator with the Moddable SDK's mcconfig.
 * Needs a Moddable SDK (README: "Moddable SDK"); skipped when MODDABLE is unset.
 */
const MODDABLE = process.env["MODDABLE"];
const ROOT = process.cwd();

if (!MODDABLE) {
  process.stderr.write("moddable-build.test: skipped, MODDABLE is unset (install the Moddable SDK to check the mcconfig build)\n");
}

describe("Moddable build", () => {
  (MODDABLE ? test : test.skip)("mcconfig -d -m -p lin builds the firmware", () => {
    const output = fs.mkdtempSync(path.join(os.tmpdir(), "mcconfig-"));
    const env = {
      ...process.env,
      PATH: [path.join(ROOT, "node_modules", ".bin"), path.join(MODDABLE ?? "", "build", "bin", "lin", "release"), process.env["PATH"]].join(path.delimiter),
    };
    const result = spawnSync("mcconfig", ["-d", "-m", "-p", "lin", "-t", "build", "-o", output, "endpoint=ci-build"], { cwd: ROOT, env, encoding: "utf8", timeout: 300000 });
    const log = `${result.stdout}\n${result.stderr}`;
    fs.rmSync(output, { recursive: true, force: true });
    if (result.status !== 0) process.stderr.write(log.slice(-4000));
    expect(result.status).toBe(0);
    expect(log).toMatch(/tsc main\.ts/);
  }, 300000);
});
