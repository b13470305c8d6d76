import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { freeUdpPort } from "./udp-port.js";

/**
 * `npm start -- --server …`: the demo firmware in XS against a server that
 * is not ours (npm lwm2m-node-lib): it registers, answers reads of /3/0 and
 * /19/0/0, and deregisters on SIGINT.
 */
const require = createRequire(import.meta.url);
type Callback<T = unknown> = (error: unknown, result?: T) => void;
const lwm2m = (require("lwm2m-node-lib") as { server: any }).server;
(require("coap") as { updateTiming(timing: object): void }).updateTiming({ ackTimeout: 0.5, ackRandomFactor: 1, maxRetransmit: 2, maxLatency: 1 });

function call<T>(invoke: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((error, result) => (error ? reject(new Error(JSON.stringify(error))) : resolve(result as T))));
}

describe("npm start --server with the lwm2m-node-lib server", () => {
  let info: object;
  let port = 0;
  let firmware: ChildProcess;
  let output = "";
  const unregistered: string[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "start-third-party-"));

  beforeAll(async () => {
    port = await freeUdpPort();
    // The server answers reads in the formats it knows; SenML CBOR and TLV are added so it does not crash on them.
    const formats = [
      { name: "application-vnd-oma-lwm2m/text", value: 1541 },
      { name: "application/senml+cbor", value: 112 },
      { name: "application/vnd.oma.lwm2m+tlv", value: 11542 },
    ];
    info = await call<object>((callback) =>
      lwm2m.start({ port, serverProtocol: "udp4", defaultType: "Device", types: [], logLevel: "FATAL", deviceRegistry: { type: "memory" }, lifetimeCheckInterval: 1000, formats }, callback),
    );
    lwm2m.setHandler(info, "registration", (...args: unknown[]) => (args[5] as () => void)());
    lwm2m.setHandler(info, "unregistration", (device: { name: string }, callback: () => void) => {
      unregistered.push(device.name);
      callback();
    });
    firmware = spawn(process.execPath, [path.join(BUILD_ROOT, "tools", "start.js"), "--server", `coap://127.0.0.1:${port}`, "--endpoint", "xs-third-party", "--state-dir", stateDir, "--report-interval", "300"], { stdio: ["ignore", "pipe", "pipe"] });
    firmware.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    firmware.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 10000;
    while (!/registered with server 1/.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }, 20000);

  afterAll(async () => {
    if (firmware.exitCode === null) firmware.kill("SIGKILL");
    await call((callback) => lwm2m.stop(info, callback));
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("registers and answers reads of /3/0 resources and /19/0/0", async () => {
    expect(output).toMatch(/registered with server 1/);
    expect(output).not.toMatch(/\[server\]/); // no development server with --server
    const device = await call<{ id: number }>((callback) => lwm2m.getDevice("xs-third-party", callback));
    expect(await call<string>((callback) => lwm2m.read(device.id, 3, 0, 0, callback))).toBe("Moddable Example");
    expect(await call<string>((callback) => lwm2m.read(device.id, 3, 0, 3, callback))).toBe("0.1.0");
    expect(await call<string>((callback) => lwm2m.read(device.id, 3, 0, 1, callback))).toBe("host/xs");
    expect(Number(await call<string>((callback) => lwm2m.read(device.id, 3, 0, 9, callback)))).toBeGreaterThan(0);
    expect(Number(await call<string>((callback) => lwm2m.read(device.id, 3, 0, 13, callback)))).toBeGreaterThan(1700000000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const uplink = await call<string>((callback) => lwm2m.read(device.id, 19, 0, 0, callback));
    expect(uplink).toMatch(/t=\d+\.\d\d/);
  });

  test("deregisters on SIGINT and exits 0", async () => {
    const exited = new Promise<number | null>((resolve) => firmware.on("exit", (code) => resolve(code)));
    firmware.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(unregistered).toEqual(["xs-third-party"]);
    expect(output).toMatch(/deregistered \(2\.02\)/);
  }, 15000);
});
