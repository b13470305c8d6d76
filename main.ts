import config from "mc/config";
import { createPlatform } from "hal/port";
import type { Platform } from "./hal/platform.js";

/** Version of this firmware, reported in the start-up log (and later in /3/0/3). */
export const FIRMWARE_VERSION = "0.1.0";

const DEFAULT_HEARTBEAT_SECONDS = 60;
const BOOT_COUNT_KEY = "boot.count";

/**
 * The firmware application. Moddable calls the default export of the main
 * module at start-up; the host runner does the same inside XS.
 */
export default function main(): void {
  const platform = createPlatform(config);
  const log = platform.log.child("main");
  log.info(`firmware ${FIRMWARE_VERSION} starting on ${platform.name}`);
  try {
    bringUp(platform);
  } catch (error) {
    log.error(`start-up failed: ${describe(error)}`);
    throw error;
  }
}

function bringUp(platform: Platform): void {
  const log = platform.log.child("main");

  const previousBoots = platform.settings.get(BOOT_COUNT_KEY);
  const bootCount = (typeof previousBoots === "number" ? previousBoots : 0) + 1;
  platform.settings.set(BOOT_COUNT_KEY, bootCount);
  log.info(`boot #${bootCount}; settings: ${platform.settings.keys().length} keys`);

  platform.firmware.init();
  const activation = platform.firmware.getActivateResult();
  log.info(`firmware storage: ${platform.firmware.capacity} bytes for images; last activation: ${activation}`);

  const memory = platform.memory.stats();
  log.info(`memory budget: ${memory.bytesTotal} bytes in ${memory.pools.map((pool) => `${pool.blocks}x${pool.blockSize}`).join(" + ")}`);

  const sample = new Uint8Array(4);
  platform.random.fill(sample);
  log.debug(`random source ok (${toHex(sample)})`);
  log.info(`network: datagrams up to ${platform.net.maxDatagramSize} bytes; wall clock ${new Date(platform.time.wallClockMs()).toISOString()}`);

  const heartbeatMs = seconds(config["heartbeat"], DEFAULT_HEARTBEAT_SECONDS) * 1000;
  let heartbeat = platform.time.setTimer(heartbeatMs, function beat() {
    const stats = platform.memory.stats();
    log.info(`alive, uptime ${Math.round(platform.time.monotonicMs() / 1000)} s, buffers in use ${stats.bytesInUse}/${stats.bytesTotal} bytes`);
    heartbeat = platform.time.setTimer(heartbeatMs, beat);
  });

  platform.onStop((done) => {
    platform.time.clearTimer(heartbeat);
    log.info("stopping");
    done();
  });
  log.info(`HAL up; heartbeat every ${heartbeatMs / 1000} s`);
}

function seconds(value: unknown, fallback: number): number {
  const parsed = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

function toHex(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return text;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
