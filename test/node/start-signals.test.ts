import { afterEach, describe, expect, test } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";

/**
 * `npm start` as a terminal runs it: the program leads its own process group
 * (spawned detached), and Ctrl-C is SIGINT to the whole group.
 */
interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output matches; rejects (with the output so far) after `ms` or if the program exits first. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
}

const started: Started[] = [];
const temporary: string[] = [];

function temporaryDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "start-signals-"));
  temporary.push(dir);
  return dir;
}

function startGroup(command: string, args: string[], cwd = process.cwd()): Started {
  const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let done = false;
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      done = true;
      for (const listener of listeners) listener();
      resolve({ code, signal });
    }),
  );
  const run: Started = {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, ms = 20000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match || done) {
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
      }),
  };
  started.push(run);
  return run;
}

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(() => {
  for (const run of started.splice(0)) if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, "SIGKILL");
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const START = path.join(BUILD_ROOT, "tools", "start.js");
const devServerArgs = (stateDir: string) => ["--state-dir", stateDir, "--dev-server-port", "0", "--http-port", "0"];

describe("npm start: Ctrl-C and the XS worker", () => {
  test("Ctrl-C to the process group deregisters and exits 0", async () => {
    const run = startGroup(process.execPath, [START, ...devServerArgs(temporaryDir())]);
    await run.waitFor(/\[server\] registered xs-lwm2m-demo/);
    process.kill(-run.child.pid!, "SIGINT");
    const status = await run.exited;
    expect(run.output()).toMatch(/I lwm2m\/server1: deregistered \(2\.02\)/);
    expect(run.output()).toMatch(/\[server\] xs-lwm2m-demo deregistered/);
    expect(status).toEqual({ code: 0, signal: null });
    expect(groupAlive(run.child.pid!)).toBe(false);
  }, 40000);
});
