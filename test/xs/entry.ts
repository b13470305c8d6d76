// Runs inside XS: executes every conformance suite on the host port and
// reports each result to the Node runner (test/xs/run.ts) through the bridge.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { encodeFrame } from "../../hal/host/bridge-frame.js";
import { SUITES } from "../conformance/index.js";


const TEST_TIMEOUT_MS = 20000;

// Moddable's preload freezes the primordials. Frozen here too, an error class that assigns its `name`
// (the override mistake: Error.prototype.name is then read-only) throws in this run as it does in mcsim.
Object.freeze(Error.prototype);

function report(header: object): void {
  issueCommand(encodeFrame(header));
}

const platform = createPlatform(config);

async function runAll(): Promise<void> {
  const filter = typeof config["filter"] === "string" ? config["filter"] : "";
  for (const suite of SUITES) {
    for (const testCase of suite.tests) {
      const name = `${suite.name} > ${testCase.name}`;
      if (filter && name.indexOf(filter) < 0) continue;
      const started = platform.time.monotonicMs();
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = platform.time.setTimer(TEST_TIMEOUT_MS, () => reject(new Error(`timed out after ${TEST_TIMEOUT_MS} ms`)));
          Promise.resolve()
            .then(() => testCase.body({ platform }))
            .then(
              () => {
                platform.time.clearTimer(timer);
                resolve();
              },
              (error: unknown) => {
                platform.time.clearTimer(timer);
                reject(error);
              },
            );
        });
        report({ op: "test-result", name, passed: true, ms: platform.time.monotonicMs() - started });
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        report({ op: "test-result", name, passed: false, ms: platform.time.monotonicMs() - started, message });
      }
    }
  }
  report({ op: "tests-done" });
}

runAll().catch((error: unknown) => report({ op: "tests-crashed", message: String(error) }));
