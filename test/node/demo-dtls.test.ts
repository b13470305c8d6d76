/**
 * Acceptance 5 of issue 10: the whole demo over DTLS in XS on the host.
 * `npm start -- --psk-id ID --psk HEX` (here `node build/tools/start.js`, as
 * the npm script execs it) runs the development server with a coaps://
 * endpoint holding that identity and key and points the firmware at it: the
 * firmware registers over DTLS, its reports reach the /19/0/0 observer, and
 * Ctrl-C (SIGINT) makes it deregister before the run ends. The key is never
 * printed.
 *
 * Needs the XS worker with the DTLS binding, the Node addon, and the
 * firmware's Security-object → DTLS routing (main.ts → agent → lwm2m).
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadNodeDtlsEngine } from "../../hal/host/node/dtls/node-dtls.js";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { xsnapWorkerBinary } from "../../hal/host/node/xs-worker.js";
import { startGroup } from "./process-group.js";

const ENGINE = loadNodeDtlsEngine();
const WORKER = xsnapWorkerBinary();
let why: string | undefined;
if (!ENGINE.engine) why = ENGINE.missing;
else if (!WORKER.dtls) why = `the XS worker has no DTLS binding (${WORKER.missing ?? "npm run build:worker"})`;
if (why) process.stderr.write(`demo-dtls.test: skipped, ${why}\n`);
const maybe = why ? describe.skip : describe;

const IDENTITY = "demo-dtls-id";
const KEY_HEX = "0123456789abcdef0123456789abcdef";
const ENDPOINT = "dtls-demo";

let child: ChildProcess | undefined;
let stateDir: string | undefined;

afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL");
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

maybe("npm start over DTLS (--psk-id, --psk)", () => {
  test("the firmware in XS registers over coaps://, its reports reach the /19/0/0 observer, and SIGINT deregisters it", async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "demo-dtls-"));
    const args = [
      path.join(BUILD_ROOT, "tools", "start.js"),
      "--psk-id", IDENTITY, "--psk", KEY_HEX,
      "--endpoint", ENDPOINT, "--report-interval", "200", "--lifetime", "60",
      "--dev-server-port", "0", "--dev-server-dtls-port", "0", "--http-port", "0",
      "--state-dir", stateDir,
    ];
    // Its own process group: SIGINT goes to the group, as Ctrl-C in a terminal does.
    const run = startGroup(process.execPath, args);
    child = run.child;
    const waitFor = (pattern: RegExp, ms = 30000) => run.waitFor(pattern, ms);

    const port = (await waitFor(/\[server\] development LwM2M server .* coaps:\/\/127\.0\.0\.1:(\d+) \(DTLS PSK identity "demo-dtls-id"\)/))[1];
    await waitFor(new RegExp(`server coaps://127\\.0\\.0\\.1:${port}`));
    await waitFor(new RegExp(`\\[server\\] registered ${ENDPOINT} .*over DTLS as "${IDENTITY}"`));
    await waitFor(/(\[server\] notification dtls-demo \/19\/0\/0: [^\n]*\n[^]*){3}/);
    process.kill(-child.pid!, "SIGINT");
    await waitFor(new RegExp(`\\[server\\] ${ENDPOINT} deregistered`), 10000);
    expect((await run.exited).code).toBe(0);
    expect(run.output()).not.toContain(KEY_HEX);
    expect(run.output().toLowerCase()).not.toContain(KEY_HEX);
    expect(run.output()).not.toMatch(/\[host\] (firmware failed|firmware did not start|the XS worker)/);
  }, 60000);
});
