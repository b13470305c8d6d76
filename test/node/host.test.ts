import { describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FlashFirmwareStorage } from "../../hal/common/flash-firmware-storage.js";
import { PowerLossBlockDevice } from "../../hal/host/faults/power-loss-block-device.js";
import { FileBlockDevice } from "../../hal/host/node/file-block-device.js";
import { FileSettingsStore } from "../../hal/host/node/file-settings.js";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";

function temporaryDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "host-test-"));
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs `npm start`'s program, optionally sending SIGINT once `readyLine` appears. */
function runStart(args: string[], readyLine?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(BUILD_ROOT, "tools", "start.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let signalled = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (readyLine && !signalled && readyLine.test(output)) {
        signalled = true;
        child.kill("SIGINT");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("npm start (firmware in XS on the host)", () => {
  test("with the development server: registers, reports are acknowledged, a command is delivered; SIGINT deregisters and exits 0", async () => {
    const stateDir = temporaryDir();
    const run = await runStart(["--state-dir", stateDir, "--dev-server-port", "0", "--http-port", "0", "--report-interval", "300"], /downlink on \/19\/1: "led on"/);
    expect(run.output).toMatch(/I main: firmware \d+\.\d+\.\d+ starting on host\/xs/);
    expect(run.output).toMatch(/\[server\] registered xs-lwm2m-demo at \/rd\/1/);
    expect(run.output).toMatch(/I agent: report #1 \(t=[0-9.]+\): SENT_SUCCESS/);
    expect(run.output).toMatch(/\[server\] command #1 to xs-lwm2m-demo: success/);
    expect(run.output).toMatch(/I lwm2m\/server1: deregistered \(2\.02\)/);
    expect(run.output).toMatch(/I main: stopped/);
    expect(run.code).toBe(0);
    const again = await runStart(["--state-dir", stateDir, "--dev-server-port", "0", "--http-port", "0"], /REG_OK/);
    expect(again.output).toMatch(/boot #2/);
    expect(again.code).toBe(0);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }, 40000);

  test("bad options get a clear message and a non-zero exit", async () => {
    const cases: [string[], RegExp][] = [
      [["--net-loss", "2"], /--net-loss needs a probability between 0 and 1/],
      [["--frobnicate"], /unknown option "--frobnicate"/],
      [["--server", "http://x"], /--server needs coap:\/\/HOST:PORT/],
      [["--binding", "T"], /--binding must be U or UQ/],
      [["--lifetime", "0"], /--lifetime needs a whole number of at least 1/],
      [["--psk", "zz"], /--psk needs the key as hex pairs/],
      [["--psk-id", "me"], /give --psk-id and --psk together/],
      [["--server"], /--server needs a value/],
    ];
    for (const [args, message] of cases) {
      const run = await runStart(args);
      expect(run.code).toBe(2);
      expect(run.output).toMatch(message);
    }
  }, 60000);
});

describe("XS failures are reported, never silent", () => {
  test("an exception while loading the entry module rejects start()", async () => {
    const stateDir = temporaryDir();
    const host = new FirmwareHost({ stateDir, entry: path.join(BUILD_ROOT, "test", "xs", "fixtures", "throws-at-load.js"), writeLine: () => undefined });
    await expect(host.start()).rejects.toThrow(/uncaught exception in XS/);
    await host.stop(100);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("an exception in a callback reaches onFatal", async () => {
    const stateDir = temporaryDir();
    let fatal: Error | undefined;
    const host = new FirmwareHost({
      stateDir,
      entry: path.join(BUILD_ROOT, "test", "xs", "fixtures", "throws-in-event.js"),
      writeLine: () => undefined,
      onFatal: (error) => (fatal = error),
    });
    await host.start();
    const deadline = Date.now() + 5000;
    while (!fatal && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await host.stop(100);
    expect(fatal?.message).toMatch(/uncaught exception in XS/);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
});

describe("the Node platform", () => {
  test("closing it cancels the timers still pending, so none keeps Node running", () => {
    const dir = temporaryDir();
    const platform = createNodePlatform({ stateDir: dir, logLevel: "error" });
    const timeouts = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;
    const before = timeouts();
    let fired = 0;
    platform.time.setTimer(10 * 60 * 1000, () => fired++);
    platform.time.clearTimer(platform.time.setTimer(1000, () => fired++));
    expect(platform.time.pendingTimers).toBe(1);
    expect(timeouts()).toBe(before + 1);
    platform.close();
    expect(platform.time.pendingTimers).toBe(0);
    expect(timeouts()).toBe(before);
    expect(fired).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("host storage", () => {
  test("a file block device keeps flash semantics and survives reopening", () => {
    const dir = temporaryDir();
    const file = path.join(dir, "flash.bin");
    const device = new FileBlockDevice(file, 4096 * 4, 4096);
    expect(device.read(0, 4)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    device.write(0, new Uint8Array([0x0f, 0xf0]));
    device.write(0, new Uint8Array([0xff, 0x3c])); // writes only clear bits
    expect(device.read(0, 2)).toEqual(new Uint8Array([0x0f, 0x30]));
    device.close();
    const reopened = new FileBlockDevice(file, 4096 * 4, 4096);
    expect(reopened.read(0, 2)).toEqual(new Uint8Array([0x0f, 0x30]));
    reopened.eraseSector(0);
    expect(reopened.read(0, 2)).toEqual(new Uint8Array([0xff, 0xff]));
    expect(() => reopened.read(4096 * 4 - 1, 2)).toThrow(/out-of-range/);
    reopened.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("power loss on the file-backed firmware area, deterministic under a seed", () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) {
      const dir = temporaryDir();
      const file = new FileBlockDevice(path.join(dir, "fw.bin"), 4096 * 6, 4096);
      const flaky = new PowerLossBlockDevice(file, { cutAtOperation: 5, seed: 99 });
      const storage = new FlashFirmwareStorage(flaky);
      storage.init();
      storage.writeUpdateInfo(new Uint8Array([1])); // operations 1-2
      storage.beginDownload(8000); // erases: operations 3-4
      expect(() => storage.write(0, new Uint8Array(5000).fill(0x5a))).toThrow(/power-loss/); // operation 5
      file.close();
      const medium = new FileBlockDevice(path.join(dir, "fw.bin"), 4096 * 6, 4096);
      const rebooted = new FlashFirmwareStorage(medium);
      rebooted.init();
      expect(rebooted.readUpdateInfo()).toEqual(new Uint8Array([1]));
      const image = rebooted.read(0, 5000);
      outcomes.push(`${flaky.tornBytes}:${image.indexOf(0xff)}`);
      expect(image.indexOf(0xff)).toBe(flaky.tornBytes);
      medium.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(outcomes[0]).toBe(outcomes[1]);
  });

  test("settings are written atomically and a damaged file reads as empty", () => {
    const dir = temporaryDir();
    const file = path.join(dir, "settings.json");
    const settings = new FileSettingsStore(file);
    settings.set("endpoint", "dev1");
    expect(new FileSettingsStore(file).get("endpoint")).toBe("dev1");
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    fs.writeFileSync(file, "{ not json");
    expect(new FileSettingsStore(file).keys()).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
