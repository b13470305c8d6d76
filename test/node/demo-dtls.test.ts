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
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadNodeDtlsEngine } from "../../hal/host/node/dtls/node-dtls.js";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { xsnapWorkerBinary } from "../../hal/host/node/xs-worker.js";

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
    child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const listeners = new Set<() => void>();
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const listener of listeners) listener();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const exited = new Promise<number | null>((resolve) => child!.on("close", (code) => {
      for (const listener of listeners) listener();
      resolve(code);
    }));
    const waitFor = (pattern: RegExp, ms = 30000) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          const ended = child!.exitCode !== null || child!.signalCode !== null;
          if (match || ended) {
            listeners.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else reject(new Error(`exited before ${pattern} appeared; output:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${pattern} did not appear within ${ms} ms; output:\n${output}`));
        }, ms);
        listeners.add(check);
        check();
      });

    const port = (await waitFor(/\[server\] development LwM2M server .* coaps:\/\/127\.0\.0\.1:(\d+) \(DTLS PSK identity "demo-dtls-id"\)/))[1];
    await waitFor(new RegExp(`server coaps://127\\.0\\.0\\.1:${port}`));
    await waitFor(new RegExp(`\\[server\\] registered ${ENDPOINT} .*over DTLS as "${IDENTITY}"`));
    await waitFor(/(\[server\] notification dtls-demo \/19\/0\/0: [^\n]*\n[^]*){3}/);
    process.kill(-child.pid!, "SIGINT");
    await waitFor(new RegExp(`\\[server\\] ${ENDPOINT} deregistered`), 10000);
    expect(await exited).toBe(0);
    expect(output).not.toContain(KEY_HEX);
    expect(output.toLowerCase()).not.toContain(KEY_HEX);
    expect(output).not.toMatch(/\[host\] (firmware failed|firmware did not start|the XS worker)/);
  }, 60000);
});
