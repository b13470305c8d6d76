// The mbedtls binding (modules/dtls/native.js) where the target links it; hal/moddable/no-dtls elsewhere.
import { dtlsEngine, dtlsRandom } from "dtls/engine";
// SHA-256 and ECDSA P-256 for firmware packages (modules/crypto/native.js) on the same targets; hal/moddable/no-crypto elsewhere.
import { cryptoEngine } from "crypto/engine";
import { FlashFirmwareStorage } from "../common/flash-firmware-storage.js";
import { HalError } from "../errors.js";
import { isLogLevel, Logger, type LogLevel } from "../log.js";
import { DEFAULT_MEMORY_POOLS, MemoryBudget } from "../memory.js";
import { AsyncMutex } from "../mutex.js";
import type { CreatePlatform, FirmwareConfig, Platform } from "../platform.js";
import { openFirmwareBlockDevice } from "./block-device.js";
import { moddableHttp } from "./http.js";
import { createTraceSink } from "./log-sink.js";
import { createMemoryUse } from "./memory-use.js";
import { ModdableNet } from "./net.js";
import { moddableRandom } from "./random.js";
import { moddableSerial } from "./serial.js";
import { createSettingsStore } from "./settings-store.js";
import { ModdableTime } from "./time.js";

/** Settings domain (ESP32 NVS namespace, Zephyr settings subtree, Preference domain). */
const SETTINGS_DOMAIN = "lwm2m";

/**
 * The Moddable port. The manifest picks the platform files: ECMA-419 flash
 * and key-value storage on ESP32 and Zephyr, Preference and RAM on the
 * simulator. The target's mc/config supplies `platform`, `fotaPartition` and
 * the modem's UART (`modemUart`, `modemTx`, `modemRx`).
 * Where the target links the mbedtls binding (hal/moddable/manifest.json),
 * the port offers DTLS and takes its random bytes from mbedtls's CTR-DRBG,
 * and offers `crypto` (modules/crypto) for signed firmware packages.
 */
export const createPlatform: CreatePlatform = (config: FirmwareConfig): Platform => {
  const time = new ModdableTime();
  const level = isLogLevel(config["log"]) ? (config["log"] as LogLevel) : "info";
  const partition = typeof config["fotaPartition"] === "string" ? config["fotaPartition"] : "fota";
  const memoryUse = createMemoryUse();
  const serial = moddableSerial(config);
  return {
    name: `moddable/${typeof config["platform"] === "string" ? config["platform"] : "device"}`,
    log: new Logger(createTraceSink(), time, level),
    time,
    random: moddableRandom(dtlsRandom),
    net: new ModdableNet(),
    memory: new MemoryBudget(DEFAULT_MEMORY_POOLS),
    settings: createSettingsStore(SETTINGS_DOMAIN),
    firmware: new FlashFirmwareStorage(openFirmwareBlockDevice(partition)),
    ...(dtlsEngine ? { dtls: dtlsEngine } : {}),
    ...(cryptoEngine ? { crypto: cryptoEngine } : {}),
    ...(serial ? { serial } : {}),
    // The SDK's http module where the target has its socket module (hal/moddable/no-http on Zephyr).
    ...(moddableHttp ? { http: moddableHttp } : {}),
    createMutex: (name, maxWaiters) => new AsyncMutex(name, maxWaiters),
    // A device has no SIGINT: stop handlers run only when the application calls them.
    onStop: () => undefined,
    restart,
    ...(memoryUse ? { memoryUse } : {}),
  };
};

/** The SDK's io manifests install globalThis.System; its restart() exists on devices, not in the simulator. */
function restart(): void {
  const system = (globalThis as { System?: { restart?: () => void } }).System;
  if (!system?.restart) throw new HalError("io", "restart is not available on this target");
  system.restart();
}
