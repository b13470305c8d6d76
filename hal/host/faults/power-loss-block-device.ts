import { HalError } from "../../errors.js";
import type { BlockDevice } from "../../storage.js";
import { SeededRandom } from "./seeded-random.js";

export interface PowerLossOptions {
  /** The 1-based write or erase operation during which power fails. */
  readonly cutAtOperation: number;
  /** Seed choosing how much of the interrupted operation reached the medium. */
  readonly seed?: number;
  /** Called once when power fails, before the operation throws. */
  readonly onPowerLoss?: (operation: number) => void;
}

/**
 * Wraps a BlockDevice and "loses power" during a chosen write or erase: a
 * seeded prefix of that operation reaches the medium, the operation throws
 * HalError("power-loss"), and every later operation fails the same way until
 * restorePower(). Re-opening the inner device afterwards models the reboot.
 */
export class PowerLossBlockDevice implements BlockDevice {
  private readonly inner: BlockDevice;
  private readonly random: SeededRandom;
  private readonly onPowerLoss: ((operation: number) => void) | undefined;
  private cutAt: number;
  private operations = 0;
  private powered = true;
  /** Bytes of the interrupted operation that reached the medium. */
  tornBytes = -1;

  constructor(inner: BlockDevice, options: PowerLossOptions) {
    this.inner = inner;
    this.cutAt = options.cutAtOperation;
    this.random = new SeededRandom(options.seed ?? 1);
    this.onPowerLoss = options.onPowerLoss;
  }

  get byteLength(): number {
    return this.inner.byteLength;
  }
  get sectorSize(): number {
    return this.inner.sectorSize;
  }
  get operationCount(): number {
    return this.operations;
  }
  get hasPower(): boolean {
    return this.powered;
  }

  restorePower(nextCutAtOperation = 0): void {
    this.powered = true;
    this.operations = 0;
    this.cutAt = nextCutAtOperation;
  }

  read(offset: number, length: number): Uint8Array {
    this.requirePower();
    return this.inner.read(offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    this.requirePower();
    if (++this.operations === this.cutAt) {
      const kept = this.random.between(0, data.length - 1);
      if (kept > 0) this.inner.write(offset, data.subarray(0, kept));
      this.fail(kept);
    }
    this.inner.write(offset, data);
  }

  eraseSector(sector: number): void {
    this.requirePower();
    if (++this.operations === this.cutAt) {
      // An erase cut short leaves only part of the sector erased; the rest is modelled as cleared bytes.
      const kept = this.random.between(0, this.inner.sectorSize - 1);
      this.inner.eraseSector(sector);
      this.inner.write(sector * this.inner.sectorSize + kept, new Uint8Array(this.inner.sectorSize - kept));
      this.fail(kept);
    }
    this.inner.eraseSector(sector);
  }

  private fail(kept: number): never {
    this.tornBytes = kept;
    this.powered = false;
    this.onPowerLoss?.(this.operations);
    throw new HalError("power-loss", `power lost during operation ${this.operations} (${kept} bytes reached the medium)`);
  }

  private requirePower(): void {
    if (!this.powered) throw new HalError("power-loss", "the storage device has no power");
  }
}
