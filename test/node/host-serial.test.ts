import { afterEach, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isHalError } from "../../hal/errors.js";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { NodeSerial } from "../../hal/host/node/node-serial.js";
import { createPtyPair } from "../modem/pty-pair.js";
import { startEmulator } from "../modem/start.js";

/**
 * The host serial HAL: NodeSerial on a pty (errors, one open at a time, a
 * close that frees the descriptor, the other end going away), and
 * Platform.serial inside XS through the bridge talking to an emulated
 * ESP8266.
 */
const HAVE_SOCAT = spawnSync("sh", ["-c", "command -v socat"]).status === 0;
if (!HAVE_SOCAT) process.stderr.write("host-serial.test: skipped, socat is missing (apt-get install socat)\n");
const maybe = HAVE_SOCAT ? describe : describe.skip;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The descriptors this process has open on `ttyPath`. */
function descriptorsOn(ttyPath: string): string[] {
  const target = fs.realpathSync(ttyPath);
  return fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  });
}

maybe("NodeSerial", () => {
  test("a missing TTY is a clear not-found HalError", () => {
    const open = () => new NodeSerial("/dev/ttyUSB-not-here").open({ baud: 115200, onReceive: () => undefined });
    expect(open).toThrow("serial port /dev/ttyUSB-not-here not found");
    try {
      open();
    } catch (error) {
      expect(isHalError(error, "not-found")).toBe(true);
    }
  });

  test("a path stty cannot configure is an io HalError", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "not-a-tty-")), "plain");
    fs.writeFileSync(file, "");
    cleanups.push(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    expect(() => new NodeSerial(file).open({ baud: 115200, onReceive: () => undefined })).toThrow(/cannot configure serial port/);
  });

  test("bytes both ways, binary-safe; one open at a time; close frees the descriptor and a reopen works", async () => {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const received: number[] = [];
    const modem = new NodeSerial(pair.modemPath).open({ baud: 9600, onReceive: (data) => received.push(...data) });
    cleanups.push(() => modem.close());
    const device = new NodeSerial(pair.devicePath);
    for (let round = 0; round < 3; round++) {
      const heard: number[] = [];
      const port = device.open({ baud: 9600, onReceive: (data) => heard.push(...data) });
      expect(() => device.open({ baud: 9600, onReceive: () => undefined })).toThrow(/already open/);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      received.length = 0;
      port.write(all);
      modem.write(all);
      const deadline = Date.now() + 2000;
      while ((received.length < 256 || heard.length < 256) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(Uint8Array.from(received)).toEqual(all);
      expect(Uint8Array.from(heard)).toEqual(all);
      expect(descriptorsOn(pair.devicePath).length).toBe(1);
      port.close();
      expect(port.closed).toBe(true);
      expect(() => port.write(all)).toThrow(/closed/);
      await port.whenClosed;
      expect(descriptorsOn(pair.devicePath)).toEqual([]);
    }
  });

  test("the other end gone (socat stopped): onError, the port closes", async () => {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const errors: string[] = [];
    const port = new NodeSerial(pair.devicePath).open({ baud: 115200, onReceive: () => undefined, onError: (error) => errors.push(error.code) });
    await pair.close();
    await Promise.race([port.whenClosed, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    expect(port.closed).toBe(true);
    expect(errors.length).toBe(1);
  });
});

maybe("createNodePlatform with serialPath", () => {
  test("Platform.serial on the TTY given, none without it", async () => {
    const running = await startEmulator({ modem: "sim900a" });
    cleanups.push(() => running.close());
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "node-platform-serial-"));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const platform = createNodePlatform({ stateDir, serialPath: running.devicePath!, sink: { writeLine: () => undefined } });
    cleanups.push(() => platform.close());
    let received = "";
    const port = platform.serial!.open({ baud: 115200, onReceive: (data) => (received += Buffer.from(data).toString("latin1")) });
    port.write(Buffer.from("AT\r\n"));
    const deadline = Date.now() + 2000;
    while (!received.includes("\r\nOK\r\n") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toBe("AT\r\n\r\nOK\r\n");
    port.close();
    const without = createNodePlatform({ stateDir, sink: { writeLine: () => undefined } });
    cleanups.push(() => without.close());
    expect(without.serial).toBeUndefined();
  });
});

interface Result {
  readonly hasSerial: boolean;
  readonly received?: string;
  readonly chunks?: number;
  readonly closed?: boolean;
  readonly secondOpen?: string;
  readonly writeAfterClose?: string;
  readonly failed?: string;
}

async function runEntry(serialPath: string | undefined, hold?: { afterResult: () => Promise<void>; errors: object[] }): Promise<Result> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-serial-"));
  cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  let resolveResult: (result: Result) => void = () => undefined;
  const result = new Promise<Result>((resolve) => (resolveResult = resolve));
  const host = new FirmwareHost({
    stateDir,
    config: { log: "warn", ...(hold ? { hold: true } : {}) },
    entry: path.join(BUILD_ROOT, "test", "xs", "serial-echo-entry.js"),
    ...(serialPath ? { serialPath } : {}),
    writeLine: (line) => process.stderr.write(`  ${line}\n`),
    onRequest: (op, header) => {
      if (op === "serial-error") {
        hold?.errors.push(header);
        return { header: {} };
      }
      if (op !== "serial-result") return undefined;
      resolveResult(header as unknown as Result);
      return { header: {} };
    },
    onFatal: (error) => resolveResult({ hasSerial: false, failed: error.message }),
  });
  try {
    await host.start();
    const outcome = await Promise.race([result, new Promise<Result>((resolve) => setTimeout(() => resolve({ hasSerial: false, failed: "no result within 10 s" }), 10000).unref())]);
    await hold?.afterResult();
    return outcome;
  } finally {
    await host.stop(1000);
  }
}

maybe("Platform.serial in XS through the bridge", () => {
  test("the firmware opens its UART, writes AT to an emulated ESP8266 and reads OK", async () => {
    const running = await startEmulator({ modem: "esp8266" });
    cleanups.push(() => running.close());
    const result = await runEntry(running.devicePath);
    expect(result.failed).toBeUndefined();
    expect(result.hasSerial).toBe(true);
    expect(result.received).toBe("AT\r\n\r\nOK\r\n");
    expect(result.secondOpen).toBe("busy");
    expect(result.closed).toBe(true);
    expect(result.writeAfterClose).toBe("closed");
    expect(running.emulator.trace.filter((entry) => entry.kind === "command").map((entry) => entry.text)).toEqual(["AT"]);
    // FirmwareHost.stop() resolves once the TTY is released: the next firmware can open it.
    expect(descriptorsOn(running.devicePath!)).toEqual([]);
  });

  test("the other end going away reaches the firmware as the port's onError (serial-error)", async () => {
    const running = await startEmulator({ modem: "bc95" });
    const errors: object[] = [];
    const afterResult = async () => {
      await running.close();
      const deadline = Date.now() + 3000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const result = await runEntry(running.devicePath, { afterResult, errors });
    expect(result.received).toBe("\r\nOK\r\n");
    expect(errors).toEqual([{ op: "serial-error", code: "closed", message: expect.stringContaining("the other end is gone"), closed: true }]);
  });

  test("without serialPath the firmware has no Platform.serial", async () => {
    const result = await runEntry(undefined);
    expect(result).toEqual({ op: "serial-result", hasSerial: false });
  });
});
