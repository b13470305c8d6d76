import { afterAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { SUITES } from "../conformance/index.js";

// The same suites run inside XS through test/xs/run.ts.
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-node-"));
const platform = createNodePlatform({ stateDir, logLevel: "warn" });

afterAll(() => {
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

for (const suite of SUITES) {
  describe(`${suite.name} (Node)`, () => {
    for (const testCase of suite.tests) {
      test(testCase.name, async () => {
        await testCase.body({ platform });
        expect(true).toBe(true);
      }, 20000);
    }
  });
}
