import fs from "node:fs";
import path from "node:path";
import { checkRange } from "../../common/block-range.js";
import { HalError } from "../../errors.js";
import type { BlockDevice } from "../../storage.js";

/**
 * A flash partition emulated in a file: erased bytes are 0xFF and writes can
 * only clear bits, as on NOR flash. The file survives restarts like flash.
 */
export class FileBlockDevice implements BlockDevice {
  readonly byteLength: number;
  readonly sectorSize: number;
  private readonly fd: number;

  constructor(file: string, byteLength: number, sectorSize: number) {
    if (sectorSize <= 0 || byteLength <= 0 || byteLength % sectorSize !== 0) {
      throw new HalError("invalid-argument", `block device of ${byteLength} bytes is not a whole number of ${sectorSize}-byte sectors`);
    }
    this.byteLength = byteLength;
    this.sectorSize = sectorSize;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fresh = !fs.existsSync(file) || fs.statSync(file).size !== byteLength;
    this.fd = fs.openSync(file, fresh ? "w+" : "r+");
    if (fresh) {
      const erased = Buffer.alloc(sectorSize, 0xff);
      for (let offset = 0; offset < byteLength; offset += sectorSize) fs.writeSync(this.fd, erased, 0, sectorSize, offset);
    }
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const bytes = new Uint8Array(length);
    fs.readSync(this.fd, bytes, 0, length, offset);
    return bytes;
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    const merged = this.read(offset, data.length);
    for (let i = 0; i < merged.length; i++) merged[i] = merged[i]! & data[i]!;
    fs.writeSync(this.fd, merged, 0, merged.length, offset);
  }

  eraseSector(sector: number): void {
    checkRange(this, sector * this.sectorSize, this.sectorSize);
    fs.writeSync(this.fd, Buffer.alloc(this.sectorSize, 0xff), 0, this.sectorSize, sector * this.sectorSize);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
