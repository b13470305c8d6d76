import path from "node:path";
import { FlashFirmwareStorage } from "../../common/flash-firmware-storage.js";
import { Logger, type LogLevel, type LogSink } from "../../log.js";
import { DEFAULT_MEMORY_POOLS, MemoryBudget } from "../../memory.js";
import { AsyncMutex } from "../../mutex.js";
import type { Platform } from "../../platform.js";
import { randomFillSync } from "node:crypto";
import { DEFAULT_FIRMWARE_AREA } from "./firmware-host.js";
import { FileBlockDevice } from "./file-block-device.js";
import { FileSettingsStore } from "./file-settings.js";
import { NodeNet } from "./node-net.js";
import { NodeTime } from "./node-time.js";

export interface NodePlatformOptions {
  readonly stateDir: string;
  readonly logLevel?: LogLevel;
  readonly sink?: LogSink;
}

/**
 * The host port running directly in Node (no XS): the same HAL on Node's
 * sockets, timers and files. Tests use it to run device code under jest; the
 * firmware itself runs in XS through FirmwareHost.
 */
export function createNodePlatform(options: NodePlatformOptions): Platform & { close(): void } {
  const time = new NodeTime();
  const file = new FileBlockDevice(path.join(options.stateDir, "firmware.bin"), DEFAULT_FIRMWARE_AREA.bytes, DEFAULT_FIRMWARE_AREA.sectorSize);
  const sink = options.sink ?? { writeLine: (line: string) => process.stdout.write(`${line}\n`) };
  const stopHandlers: ((done: () => void) => void)[] = [];
  return {
    name: "host/node",
    log: new Logger(sink, time, options.logLevel ?? "info"),
    time,
    random: { fill: (target) => void randomFillSync(target) },
    net: new NodeNet(),
    memory: new MemoryBudget(DEFAULT_MEMORY_POOLS),
    settings: new FileSettingsStore(path.join(options.stateDir, "settings.json")),
    firmware: new FlashFirmwareStorage(file),
    createMutex: (name, maxWaiters) => new AsyncMutex(name, maxWaiters),
    onStop: (handler) => void stopHandlers.push(handler),
    restart: () => {
      throw new Error("restart is not available on the Node host platform");
    },
    close: () => file.close(),
  };
}
