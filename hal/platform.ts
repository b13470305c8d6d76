import type { CryptoEngine } from "./crypto.js";
import type { DtlsEngine } from "./dtls.js";
import type { HttpClient } from "./http.js";
import type { Logger } from "./log.js";
import type { MemoryBudget } from "./memory.js";
import type { AsyncMutex } from "./mutex.js";
import type { Net } from "./net.js";
import type { RandomSource } from "./random.js";
import type { Serial } from "./serial.js";
import type { FirmwareStorage, SettingsStore } from "./storage.js";
import type { Time } from "./time.js";

/**
 * Everything the firmware may use of the platform it runs on. A port (Moddable,
 * host) builds one; modules/ receive it and never touch a platform themselves.
 */
export interface Platform {
  /** Port name for logs, e.g. "moddable/esp32" or "host/xs". */
  readonly name: string;
  readonly log: Logger;
  readonly time: Time;
  readonly random: RandomSource;
  readonly net: Net;
  readonly memory: MemoryBudget;
  readonly settings: SettingsStore;
  readonly firmware: FirmwareStorage;
  /** DTLS through mbedtls; absent where the build does not link the binding (Node, the stock XS worker). */
  readonly dtls?: DtlsEngine;
  /** SHA-256 and ECDSA P-256 through mbedtls (modules/crypto); absent where the build does not link it. */
  readonly crypto?: CryptoEngine;
  /** An HTTP client for http:// firmware downloads; absent where the port has none. */
  readonly http?: HttpClient;
  /** The UART of an AT-command radio module; absent where the port has none configured. */
  readonly serial?: Serial;
  createMutex(name: string, maxWaiters?: number): AsyncMutex;
  /** Registers work to run before the platform stops (SIGINT on the host). */
  onStop(handler: (done: () => void) => void): void;
  /** Restarts the device (reboot after a firmware update, Execute /3/0/4). */
  restart(): void;
  /**
   * The JavaScript engine's own heap use now, for the field log. Absent on a
   * port that cannot measure it; undefined when this build cannot (a Moddable
   * release build has no instrumentation).
   */
  memoryUse?(): EngineMemoryUse | undefined;
}

/** Engine heap use in bytes (XS: slot heap, chunk heap, stack high-water mark). */
export interface EngineMemoryUse {
  readonly slots: number;
  readonly chunks: number;
  /** Peak stack use, where the engine reports it. */
  readonly stack?: number;
}

/** Configuration as text values, from mcconfig's command line (mc/config) or the host's options. */
export type FirmwareConfig = Readonly<Record<string, string | number | boolean | undefined>>;

/** The one function every port exports as `createPlatform` from module "hal/port". */
export type CreatePlatform = (config: FirmwareConfig) => Platform;
