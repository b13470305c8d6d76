import { HalError } from "../errors.js";
import type { BlockDevice } from "../storage.js";
import { checkRange } from "./block-range.js";

/**
 * A RAM-backed block device with NOR-flash semantics: erase sets 0xFF, a write
 * can only clear bits (the result is old AND new), as on real flash.
 */
export class MemoryBlockDevice implements BlockDevice {
  readonly byteLength: number;
  readonly sectorSize: number;
  private readonly bytes: Uint8Array;

  constructor(byteLength: number, sectorSize: number) {
    if (sectorSize <= 0 || byteLength <= 0 || byteLength % sectorSize !== 0) {
      throw new HalError("invalid-argument", `block device of ${byteLength} bytes is not a whole number of ${sectorSize}-byte sectors`);
    }
    this.byteLength = byteLength;
    this.sectorSize = sectorSize;
    this.bytes = new Uint8Array(byteLength).fill(0xff);
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    for (let i = 0; i < data.length; i++) this.bytes[offset + i] = this.bytes[offset + i]! & data[i]!;
  }

  eraseSector(sector: number): void {
    checkRange(this, sector * this.sectorSize, this.sectorSize);
    this.bytes.fill(0xff, sector * this.sectorSize, (sector + 1) * this.sectorSize);
  }
}
