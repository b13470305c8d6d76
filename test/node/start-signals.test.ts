import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { decodeMessage, encodeMessage } from "../../modules/coap/codec.js";
import { MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { addOption, createMessage, utf8Encode } from "../../modules/coap/message.js";
import { startGroup as startProcessGroup, type Started } from "./process-group.js";

const started: Started[] = [];
const temporary: string[] = [];

function temporaryDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "start-signals-"));
  temporary.push(dir);
  return dir;
}

/** A program in its own process group, stopped by afterEach if still running. */
function startGroup(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Started {
  const run = startProcessGroup(command, args, options);
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

/** True while the process `pid` is alive (and not yet reaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the process `pid` has gone (an orphaned worker is reaped by init, not by us). */
async function gone(pid: number, ms = 10000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return !alive(pid);
}

/**
 * An LwM2M server that accepts the Register and then never answers again,
 * so the firmware's Deregister hangs in CoAP retransmissions.
 */
async function serverThatGoesSilent(): Promise<{ port: number; close: () => void }> {
  const socket = dgram.createSocket("udp4");
  let registered = false;
  socket.on("message", (bytes, from) => {
    const decoded = decodeMessage(new Uint8Array(bytes));
    if (registered || !decoded.ok || decoded.message.code !== Method.POST) return;
    registered = true;
    const reply = createMessage(MessageType.Acknowledgement, ResponseCode.Created, decoded.message.messageId, decoded.message.token);
    addOption(reply, OptionNumber.LocationPath, utf8Encode("rd"));
    addOption(reply, OptionNumber.LocationPath, utf8Encode("1"));
    socket.send(encodeMessage(reply), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, close: () => socket.close() };
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
    const worker = Number((await run.waitFor(/\[host\] XS worker pid (\d+)/))[1]);
    process.kill(-run.child.pid!, "SIGINT");
    const status = await run.exited;
    expect(run.output()).toMatch(/I lwm2m\/server1: deregistered \(2\.02\)/);
    expect(run.output()).toMatch(/\[server\] xs-lwm2m-demo deregistered/);
    expect(status).toEqual({ code: 0, signal: null });
    expect(groupAlive(run.child.pid!)).toBe(false);
    expect(await gone(worker)).toBe(true);
  }, 40000);

  test("Ctrl-C to `npm start` (npm, its shell and the runner in one group) deregisters and npm exits 0", async () => {
    // The project's own start script, run by npm in a package whose build script does nothing:
    // `npm start` itself would rebuild build/ under the other test files' feet.
    const packageDir = temporaryDir();
    const script = (JSON.parse(fs.readFileSync(path.join(BUILD_ROOT, "..", "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
    fs.writeFileSync(path.join(packageDir, "package.json"), JSON.stringify({ name: "start-under-npm", version: "1.0.0", private: true, scripts: { build: "true", start: script } }));
    fs.symlinkSync(BUILD_ROOT, path.join(packageDir, "build"));
    // The start script runs the built program through tools/launch.mjs (which builds only when sources changed: none here).
    fs.mkdirSync(path.join(packageDir, "tools"));
    fs.copyFileSync(path.join(BUILD_ROOT, "..", "tools", "launch.mjs"), path.join(packageDir, "tools", "launch.mjs"));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
    const run = startGroup("npm", ["start", "--", ...devServerArgs(path.join(packageDir, "state"))], { cwd: packageDir, env });
    await run.waitFor(/\[server\] registered xs-lwm2m-demo/);
    const worker = Number((await run.waitFor(/\[host\] XS worker pid (\d+)/))[1]);
    process.kill(-run.child.pid!, "SIGINT");
    const status = await run.exited;
    expect(run.output()).toMatch(/\[server\] xs-lwm2m-demo deregistered/);
    expect(run.output()).toMatch(/I main: stopped/); // npm waited for the runner to finish
    expect(run.output()).not.toMatch(/\[host\] (SIGINT again|the firmware did not|the XS worker|the firmware failed)/);
    // The start script execs the runner: a shell left waiting (dash) would end itself by SIGINT after it, and npm with it.
    expect(status).toEqual({ code: 0, signal: null });
    expect(groupAlive(run.child.pid!)).toBe(false);
    expect(await gone(worker)).toBe(true);
  }, 40000);

  test("the XS worker killed under the runner: it says so and exits non-zero", async () => {
    const run = startGroup(process.execPath, [START, ...devServerArgs(temporaryDir())]);
    await run.waitFor(/\[server\] registered xs-lwm2m-demo/);
    const worker = Number((await run.waitFor(/\[host\] XS worker pid (\d+)/))[1]);
    process.kill(worker, "SIGKILL");
    const status = await run.exited;
    expect(run.output()).toMatch(/\[host\] the XS worker exited unexpectedly \(signal SIGKILL\)/);
    expect(status.code).toBe(1);
  }, 40000);

  describe("when the Deregister gets no answer", () => {
    let server: { port: number; close: () => void };
    beforeEach(async () => {
      server = await serverThatGoesSilent();
    });
    afterEach(() => server.close());
    const silentServerArgs = () => ["--server", `coap://127.0.0.1:${server.port}`, "--state-dir", temporaryDir()];

    test("Ctrl-C waits a bounded time, then exits non-zero saying the deregistration did not finish", async () => {
      const run = startGroup(process.execPath, [START, ...silentServerArgs()]);
      const worker = Number((await run.waitFor(/\[host\] XS worker pid (\d+)/))[1]);
      await run.waitFor(/registered with server 1/);
      process.kill(-run.child.pid!, "SIGINT");
      const status = await run.exited;
      expect(run.output()).toMatch(/I main: stopping: deregistering/);
      expect(run.output()).toMatch(/\[host\] the firmware did not finish stopping \(deregistering\) within 5 s/);
      expect(status.code).toBe(1);
      expect(await gone(worker)).toBe(true);
    }, 40000);

    test("a second Ctrl-C exits at once", async () => {
      const run = startGroup(process.execPath, [START, ...silentServerArgs()]);
      const worker = Number((await run.waitFor(/\[host\] XS worker pid (\d+)/))[1]);
      await run.waitFor(/registered with server 1/);
      process.kill(-run.child.pid!, "SIGINT");
      await run.waitFor(/I main: stopping: deregistering/);
      // A repeat within half a second counts as the same Ctrl-C (npm passes its own on to its child).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      process.kill(-run.child.pid!, "SIGINT");
      const status = await run.exited;
      expect(run.output()).toMatch(/\[host\] SIGINT again: exiting without waiting for the firmware to stop/);
      expect(run.output()).not.toMatch(/did not finish stopping/);
      expect(status.code).toBe(130);
      expect(await gone(worker)).toBe(true);
    }, 40000);
  });
});
