import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FirmwareConfig } from "../../platform.js";
import type { BlockDevice } from "../../storage.js";
import { encodeFrame, type Frame } from "../bridge-frame.js";
import { FaultyNet, type NetFaults } from "../faults/faulty-net.js";
import { PowerLossBlockDevice } from "../faults/power-loss-block-device.js";
import { BridgeServer } from "./bridge-server.js";
import { FileBlockDevice } from "./file-block-device.js";
import { FileSettingsStore } from "./file-settings.js";
import { NodeNet } from "./node-net.js";
import { NodeSerial } from "./node-serial.js";
import { NodeTime } from "./node-time.js";
import { describeExit, XsWorker, xsnapWorkerBinary, type XsReply } from "./xs-worker.js";

/** The compiled project root (build/), three folders above this file. */
export const BUILD_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Two record sectors and 2 MiB for a package (a 1 MiB image and its header fit). */
export const DEFAULT_FIRMWARE_AREA = Object.freeze({ bytes: 2 * 4096 + 2 * 1024 * 1024, sectorSize: 4096 });

export interface FirmwareHostOptions {
  /** Folder for settings.json and firmware.bin, the host's non-volatile memory. */
  readonly stateDir: string;
  /** Values the firmware reads from mc/config, as mcconfig's name=value arguments give them on Moddable. */
  readonly config?: FirmwareConfig;
  /** XS module to run (absolute path); default: the boot module that calls main(). */
  readonly entry?: string;
  /**
   * The TTY the firmware's UART is (a pty end of a modem emulator, or a
   * USB-serial adapter such as /dev/ttyUSB0): the firmware gets
   * Platform.serial, which opens it raw at the baud rate it asks for. Absent:
   * no Platform.serial.
   */
  readonly serialPath?: string;
  /** Datagram faults applied to the firmware's UDP traffic. */
  readonly netFaults?: NetFaults;
  /**
   * Power fails during this write or erase of the firmware storage (1-based):
   * a seeded part of that operation reaches the file, the XS worker ends at
   * once (nothing more reaches the storage), and the firmware boots again on
   * the same state with power restored, as after a power cut. Counted in
   * restarts; onRestart and whenBooted() see it.
   */
  readonly powerCutAtOperation?: number;
  /** Seed of how much of the interrupted operation reaches the medium (default 1). */
  readonly powerCutSeed?: number;
  readonly firmwareArea?: { readonly bytes: number; readonly sectorSize: number };
  /** Console lines from the firmware; default: stdout. */
  readonly writeLine?: (line: string) => void;
  /** Extra requests from XS (test harnesses). */
  readonly onRequest?: (op: string, header: Frame["header"], payload: Uint8Array | undefined) => Frame | undefined;
  /** Called when the firmware fails in a way it cannot report itself. */
  readonly onFatal?: (error: Error) => void;
  /**
   * Called after a restart the firmware asked for (Platform.restart()) once
   * the firmware has booted again in a fresh XS worker; `count` is the number
   * of restarts so far (1 for the first).
   */
  readonly onRestart?: (count: number) => void;
}

/**
 * How stop() ended: the firmware acknowledged the stop (its onStop handlers,
 * such as the deregistration, have run), it did not within the time allowed,
 * the XS worker ended first, or XS threw on the stop event.
 */
export type StopOutcome =
  | { readonly kind: "stopped" }
  | { readonly kind: "timed-out" }
  | { readonly kind: "worker-exited"; readonly detail: string }
  | { readonly kind: "failed"; readonly error: Error };

/** The XS worker ended while the firmware was running (a crash, a kill). */
export class WorkerExitedError extends Error {}

/**
 * Runs the firmware inside the XS engine (xsnap-worker) with Node performing
 * its I/O. The worker's current folder holds two generated modules that stand
 * where Moddable's build puts them: "mc/config" (the configuration),
 * "hal/port" (the host port) and "dtls/engine" (the DTLS binding, when the
 * worker links it).
 */
export class FirmwareHost {
  readonly net: NodeNet | FaultyNet;
  readonly time = new NodeTime();
  readonly blockDevice: BlockDevice;
  private readonly file: FileBlockDevice;
  private readonly options: FirmwareHostOptions;
  private readonly server: BridgeServer;
  private readonly runDir: string;
  private worker: XsWorker | undefined;
  private stopped: (() => void) | undefined;
  private entryOutcome: ((failed: boolean, message: string) => void) | undefined;
  private readonly writeLine: (line: string) => void;
  private restartCount = 0;
  /** The boot under way (start() or a restart), so that a restart asked for meanwhile waits for it. */
  private booting: Promise<unknown> | undefined;
  /** The restart under way: the old worker ending, the new one booting. */
  private restarting: Promise<void> | undefined;
  /** Power failed during a boot that follows a restart: that boot is cut short and the device boots again. */
  private powerCycleAfterBoot = false;
  /** stop() has begun: no restart starts any more. */
  private closing = false;
  private cleanedUp = false;
  /** Restarts after which the firmware has booted again. */
  private rebooted = 0;
  /** Callers of whenBooted() waiting for a boot after a restart. */
  private bootWaiters: { count: number; resolve: (count: number) => void; reject: (error: Error) => void }[] = [];

  constructor(options: FirmwareHostOptions) {
    this.options = options;
    const nodeNet = new NodeNet();
    this.net = options.netFaults ? new FaultyNet(nodeNet, this.time, options.netFaults) : nodeNet;
    const area = options.firmwareArea ?? DEFAULT_FIRMWARE_AREA;
    const file = new FileBlockDevice(path.join(options.stateDir, "firmware.bin"), area.bytes, area.sectorSize);
    this.file = file;
    this.blockDevice = options.powerCutAtOperation
      ? new PowerLossBlockDevice(file, { cutAtOperation: options.powerCutAtOperation, seed: options.powerCutSeed ?? 1, onPowerLoss: (operation) => this.powerLost(operation) })
      : file;
    const writeLine = options.writeLine ?? ((line: string) => process.stdout.write(`${line}\n`));
    this.writeLine = writeLine;
    this.server = new BridgeServer({
      net: this.net,
      time: this.time,
      settings: new FileSettingsStore(path.join(options.stateDir, "settings.json")),
      blockDevice: this.blockDevice,
      ...(options.serialPath ? { serial: new NodeSerial(options.serialPath) } : {}),
      writeLine,
      onRequest: (op, header, payload) => {
        if (op === "entry-loaded" || op === "entry-failed") {
          this.entryOutcome?.(op === "entry-failed", String(header["message"] ?? ""));
          return { header: {} };
        }
        if (op === "stopped") {
          this.stopped?.();
          return { header: {} };
        }
        if (op === "restart") {
          this.requestRestart();
          return { header: {} };
        }
        return options.onRequest?.(op, header, payload);
      },
    });
    this.server.onFatal = (error) => (options.onFatal ?? ((e: Error) => writeLine(`[host] fatal: ${e.message}`)))(error);
    this.runDir = fs.mkdtempSync(path.join(os.tmpdir(), "xs-firmware-"));
  }

  /**
   * Starts XS and runs the entry module; resolves once its top level has run.
   * XS reports nothing when a module throws while loading, so the module is
   * imported by a script that reports the outcome through the bridge.
   */
  async start(): Promise<XsReply> {
    writeGeneratedModules(this.runDir, this.options.config ?? {}, xsnapWorkerBinary().dtls);
    const booting = this.boot();
    this.booting = booting;
    try {
      return await booting;
    } finally {
      this.booting = undefined;
    }
  }

  /** Restarts the firmware has asked for so far. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * Resolves with `count` once the firmware has booted again after restart
   * number `count` (at once if it already has); by default the restart under
   * way, or else the next one. Rejects if that boot fails or the host stops
   * first.
   */
  whenBooted(count = this.rebooted + 1): Promise<number> {
    if (count <= this.rebooted) return Promise.resolve(count);
    if (this.cleanedUp) return Promise.reject(new Error("the host has stopped"));
    return new Promise((resolve, reject) => this.bootWaiters.push({ count, resolve, reject }));
  }

  /**
   * A reboot, as Platform.restart() does on a device: the XS worker ends at
   * once (no stop handler runs, so nothing deregisters), the sockets and
   * timers it held are released, and a fresh worker boots the entry module
   * again with the same state folder (settings.json and firmware.bin) and
   * options. A second request while one is under way is the same reboot.
   */
  private requestRestart(beforeBoot?: () => void): void {
    if (this.closing || this.restarting || !this.worker) return;
    const count = ++this.restartCount;
    this.writeLine(`[host] firmware restarting (reboot #${count})`);
    // A restart asked for while the entry module is still loading waits until start() has its outcome.
    const restarting = Promise.resolve(this.booting?.catch(() => undefined)).then(() => this.reboot(count, beforeBoot));
    this.restarting = restarting.finally(() => {
      this.restarting = undefined;
    });
  }

  /** The storage lost power: the device is off until the worker is gone, then it boots again with power back. */
  private powerLost(operation: number): void {
    if (this.closing) return;
    this.writeLine(`[host] power lost during firmware-storage operation ${operation}: the device reboots`);
    if (this.restarting) this.powerCycleAfterBoot = true;
    else this.requestRestart(() => (this.blockDevice as PowerLossBlockDevice).restorePower());
  }

  private async reboot(count: number, beforeBoot?: () => void): Promise<void> {
    let prepare = beforeBoot;
    for (;;) {
      await this.endWorker();
      prepare?.();
      if (this.closing) return; // stop() rejects the waiters
      let failure: Error | undefined;
      try {
        const booting = this.boot();
        this.booting = booting;
        await booting;
      } catch (error) {
        failure = error as Error;
      } finally {
        this.booting = undefined;
      }
      // Power failed while this boot ran (say, while the boot loader checked an image): off, and on again.
      if (this.powerCycleAfterBoot) {
        this.powerCycleAfterBoot = false;
        prepare = () => (this.blockDevice as PowerLossBlockDevice).restorePower();
        continue;
      }
      if (failure) {
        for (const waiter of this.bootWaiters.splice(0)) waiter.reject(failure);
        this.server.onFatal(failure);
        return;
      }
      break;
    }
    this.rebooted = count;
    this.options.onRestart?.(count);
    const ready = this.bootWaiters.filter((waiter) => waiter.count <= count);
    this.bootWaiters = this.bootWaiters.filter((waiter) => waiter.count > count);
    for (const waiter of ready) waiter.resolve(waiter.count);
  }

  /** Ends the running XS worker at once (no stop handler runs) and releases what it held. */
  private async endWorker(): Promise<void> {
    const old = this.worker;
    this.worker = undefined; // its end is expected: not reported as a crash
    if (old) {
      old.kill();
      await old.exited;
    }
    this.server.shutdown();
    await this.server.whenSerialReleased();
  }

  /** Starts an XS worker and loads the entry module into it. */
  private async boot(): Promise<XsReply> {
    const worker = new XsWorker({ cwd: this.runDir, handler: this.server.handle });
    this.worker = worker;
    this.server.attach(worker);
    void worker.exited.then((exit) => {
      // stop() forgets the worker first, so only an end nobody asked for gets here.
      if (this.worker === worker) this.server.onFatal(new WorkerExitedError(`the XS worker exited unexpectedly (${describeExit(exit)})`));
    });
    const entry = this.options.entry ?? path.join(BUILD_ROOT, "hal", "host", "xs", "boot.js");
    let outcome: { failed: boolean; message: string } | undefined;
    this.entryOutcome = (failed, message) => (outcome = { failed, message });
    const reply = await worker.evaluate(importAndReport(entry));
    this.entryOutcome = undefined;
    if (!outcome) throw new Error(`${entry} did not finish loading (a top-level await that never settles?)`);
    if (outcome.failed) throw new Error(`uncaught exception in XS while loading ${path.relative(BUILD_ROOT, entry)}: ${outcome.message}`);
    return reply;
  }

  /** XS's own meter (heap slots in use, bytes allocated), read after a no-op event. */
  async measure(): Promise<XsReply["meter"]> {
    if (!this.worker) throw new Error("the firmware is not running");
    return (await this.worker.deliver(new Uint8Array(encodeFrame({ ev: "ping" })))).meter;
  }

  /** Passes an event to the firmware (used by harnesses). */
  emit(header: object, payload?: Uint8Array): void {
    this.server.emit(header, payload);
  }

  /** The XS worker's process id while it runs. */
  get workerPid(): number | undefined {
    return this.worker?.pid;
  }

  /**
   * Asks the firmware to stop (its onStop handlers run) and waits up to
   * `timeoutMs` for it to say it has, then ends XS. An entry without a host
   * event handler (a benchmark, a fixture) cannot be told to stop: "failed".
   */
  async stop(timeoutMs = 5000): Promise<StopOutcome> {
    this.closing = true;
    await this.restarting;
    const worker = this.worker;
    if (!worker) {
      this.cleanUp();
      return { kind: "stopped" };
    }
    this.worker = undefined;
    const outcome = await new Promise<StopOutcome>((resolve) => {
      let settled = false;
      const settle = (result: StopOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stopped = undefined;
        resolve(result);
      };
      const timer = setTimeout(() => settle({ kind: "timed-out" }), timeoutMs);
      this.stopped = () => settle({ kind: "stopped" });
      void worker.exited.then((exit) => settle({ kind: "worker-exited", detail: describeExit(exit) }));
      worker.deliver(new Uint8Array(encodeFrame({ ev: "stop" }))).catch((error: Error) => {
        if (worker.running) settle({ kind: "failed", error });
      });
    });
    this.server.shutdown();
    await this.server.whenSerialReleased();
    // XS may be busy for good when it did not answer in time; close() kills it if it does not quit.
    if (outcome.kind !== "timed-out") await worker.whenIdle();
    await worker.close();
    this.cleanUp();
    return outcome;
  }

  /** Closes the firmware storage file and removes the worker's folder, once. */
  private cleanUp(): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    this.server.shutdown();
    this.file.close();
    fs.rmSync(this.runDir, { recursive: true, force: true });
    for (const waiter of this.bootWaiters.splice(0)) waiter.reject(new Error("the host stopped"));
  }
}

/** A script for XS that imports `entry` and reports the outcome as a bridge frame. */
function importAndReport(entry: string): string {
  return `(() => {
  const report = (header) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const frame = new Uint8Array(4 + json.length);
    new DataView(frame.buffer).setUint32(0, json.length);
    frame.set(json, 4);
    issueCommand(frame.buffer);
  };
  import(${JSON.stringify(entry)}).then(
    () => report({ op: "entry-loaded" }),
    (error) => report({ op: "entry-failed", message: String(error) + (error && error.stack ? "\\n" + error.stack : "") }),
  );
})();`;
}

function writeGeneratedModules(runDir: string, config: FirmwareConfig, dtlsWorker: boolean): void {
  fs.mkdirSync(path.join(runDir, "mc"), { recursive: true });
  fs.mkdirSync(path.join(runDir, "hal"), { recursive: true });
  fs.writeFileSync(path.join(runDir, "mc", "config"), `export default Object.freeze(${JSON.stringify({ file: { root: runDir }, ...config })});\n`);
  const port = path.join(BUILD_ROOT, "hal", "host", "xs", "port.js");
  fs.writeFileSync(path.join(runDir, "hal", "port"), `export * from ${JSON.stringify(port)};\n`);
  // The stock worker cannot load a module with host functions: it gets no engine.
  fs.mkdirSync(path.join(runDir, "dtls"), { recursive: true });
  const native = path.join(BUILD_ROOT, "modules", "dtls", "native.js");
  const engine = dtlsWorker ? `export { dtlsEngine } from ${JSON.stringify(native)};\n` : "export const dtlsEngine = undefined;\n";
  fs.writeFileSync(path.join(runDir, "dtls", "engine"), engine);
  // modules/crypto: in the DTLS worker when it was built with it (an older build lacks its host functions).
  fs.mkdirSync(path.join(runDir, "crypto"), { recursive: true });
  const cryptoNative = path.join(BUILD_ROOT, "modules", "crypto", "native.js");
  const crypto = dtlsWorker && xsnapWorkerBinary().crypto ? `export { cryptoEngine } from ${JSON.stringify(cryptoNative)};\n` : "export const cryptoEngine = undefined;\n";
  fs.writeFileSync(path.join(runDir, "crypto", "engine"), crypto);
}
