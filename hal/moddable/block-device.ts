import flash from "embedded:storage/flash";
import { checkRange } from "../common/block-range.js";
import type { BlockDevice } from "../storage.js";

/** A flash partition through ECMA-419 flash storage (ESP32 partition table, Zephyr flash map). */
export function openFirmwareBlockDevice(partition: string): BlockDevice {
  const device = flash.open({ path: partition, mode: "r+" });
  const status = device.status();
  return {
    byteLength: status.size,
    sectorSize: status.blockLength,
    read(offset: number, length: number): Uint8Array {
      checkRange(this, offset, length);
      return new Uint8Array(device.read(length, offset));
    },
    write(offset: number, data: Uint8Array): void {
      checkRange(this, offset, data.length);
      device.write(data, offset);
    },
    eraseSector(sector: number): void {
      checkRange(this, sector * status.blockLength, status.blockLength);
      device.eraseBlock(sector);
    },
  };
}
