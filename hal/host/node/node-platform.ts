import path from "node:path";
import { FlashFirmwareStorage } from "../../common/flash-firmware-storage.js";
import { Logger, type LogLevel, type LogSink } from "../../log.js";
import { DEFAULT_MEMORY_POOLS, MemoryBudget } from "../../memory.js";
import { AsyncMutex } from "../../mutex.js";
import type { Platform } from "../../platform.js";
import type { TimerHandle } from "../../time.js";
import { randomFillSync } from "node:crypto";
import { loadNodeCryptoEngine } from "./crypto/node-crypto.js";
import { loadNodeDtlsEngine } from "./dtls/node-dtls.js";
import { DEFAULT_FIRMWARE_AREA } from "./firmware-host.js";
import { FileBlockDevice } from "./file-block-device.js";
import { FileSettingsStore } from "./file-settings.js";
import { NodeHttpClient } from "./node-http.js";
import { NodeNet } from "./node-net.js";
import { NodeSerial } from "./node-serial.js";
import { NodeTime } from "./node-time.js";

/**
 * NodeTime that remembers its pending timers, so that closing the platform
 * cancels them: a timer left behind (an exchange-lifetime timer of about four
 * minutes, say) must not keep Node, or jest, running after everything else
 * has closed.
 */
class ClosableTime extends NodeTime {
  private readonly pending = new Set<TimerHandle>();

  /** Timers set and neither fired nor cleared yet. */
  get pendingTimers(): number {
    return this.pending.size;
  }
  override setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle = super.setTimer(delayMs, () => {
      this.pending.delete(handle);
      callback();
    });
    this.pending.add(handle);
    return handle;
  }
  override clearTimer(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.pending.delete(handle);
    super.clearTimer(handle);
  }
  clearAll(): void {
    for (const handle of this.pending) super.clearTimer(handle);
    this.pending.clear();
  }
}

export interface NodePlatformOptions {
  readonly stateDir: string;
  readonly logLevel?: LogLevel;
  readonly sink?: LogSink;
  /** A TTY (a modem emulator's pty end, /dev/ttyUSB0) to serve as Platform.serial; absent: no serial. */
  readonly serialPath?: string;
}

/**
 * The host port running directly in Node (no XS): the same HAL on Node's
 * sockets, timers and files. Tests use it to run device code under jest; the
 * firmware itself runs in XS through FirmwareHost. `dtls` is there when the
 * N-API addon of the DTLS core was built (hal/host/node/dtls), and `crypto`
 * when that addon also links modules/crypto (hal/host/node/crypto).
 */
export function createNodePlatform(options: NodePlatformOptions): Platform & { readonly time: { readonly pendingTimers: number }; close(): void } {
  const time = new ClosableTime();
  const file = new FileBlockDevice(path.join(options.stateDir, "firmware.bin"), DEFAULT_FIRMWARE_AREA.bytes, DEFAULT_FIRMWARE_AREA.sectorSize);
  const sink = options.sink ?? { writeLine: (line: string) => process.stdout.write(`${line}\n`) };
  const stopHandlers: ((done: () => void) => void)[] = [];
  // DTLS when npm install could build the addon of the C core (build-native/dtls-node.status says why not).
  const dtls = loadNodeDtlsEngine().engine;
  const crypto = loadNodeCryptoEngine().engine;
  const http = new NodeHttpClient();
  return {
    name: "host/node",
    log: new Logger(sink, time, options.logLevel ?? "info"),
    time,
    random: { fill: (target) => void randomFillSync(target) },
    net: new NodeNet(),
    http,
    memory: new MemoryBudget(DEFAULT_MEMORY_POOLS),
    ...(dtls ? { dtls } : {}),
    ...(crypto ? { crypto } : {}),
    ...(options.serialPath ? { serial: new NodeSerial(options.serialPath) } : {}),
    settings: new FileSettingsStore(path.join(options.stateDir, "settings.json")),
    firmware: new FlashFirmwareStorage(file),
    createMutex: (name, maxWaiters) => new AsyncMutex(name, maxWaiters),
    onStop: (handler) => void stopHandlers.push(handler),
    restart: () => {
      throw new Error("restart is not available on the Node host platform");
    },
    /** Closes the firmware file and cancels every pending timer and HTTP request. */
    close: () => {
      time.clearAll();
      http.closeAll();
      file.close();
    },
  };
}
