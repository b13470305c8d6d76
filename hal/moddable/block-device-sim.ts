import { MemoryBlockDevice } from "../common/memory-block-device.js";
import type { BlockDevice } from "../storage.js";

/** The simulator has no flash partitions: firmware images live in RAM (64 KiB + 2 record sectors) until mcsim quits. */
export function openFirmwareBlockDevice(_partition: string): BlockDevice {
  return new MemoryBlockDevice(2 * 4096 + 64 * 1024, 4096);
}
