import { HalError } from "../errors.js";
import type { ActivateResult, BlockDevice, DownloadResult, FirmwareStorage } from "../storage.js";
import { crc32 } from "./crc32.js";

/** Boot record states kept beside the update info. */
const enum BootState {
  Idle = 0,
  Downloaded = 1,
  ActivateRequested = 2,
  ActivatedOk = 3,
  ActivatedFailed = 4,
}

interface Record {
  sequence: number;
  state: BootState;
  imageLength: number;
  imageCrc: number;
  info: Uint8Array | undefined;
}

const MAGIC = 0x46575549; // "FWUI"
const HEADER_BYTES = 4 + 4 + 1 + 4 + 4 + 2; // magic, sequence, state, length, crc, info length
const TRAILER_BYTES = 4; // CRC-32 of header and info
const NO_INFO = 0xffff;
const RECORD_SECTORS = 2;

export interface FlashFirmwareStorageOptions {
  /**
   * Checks an activated image at the next init, standing in for a boot loader
   * that verifies before it boots. Defaults to a CRC-32 check of the image.
   */
  readonly verifyActivatedImage?: (storage: FlashFirmwareStorage, length: number, crc: number) => boolean;
}

/**
 * FirmwareStorage on any BlockDevice. The first two sectors hold the record
 * (update info and boot state) in alternating slots, each with a sequence
 * number and a CRC, so a power loss during an update leaves the previous
 * record readable. The remaining sectors hold the image.
 */
export class FlashFirmwareStorage implements FirmwareStorage {
  readonly capacity: number;
  private readonly device: BlockDevice;
  private readonly options: FlashFirmwareStorageOptions;
  private readonly imageBase: number;
  private record: Record = { sequence: 0, state: BootState.Idle, imageLength: 0, imageCrc: 0, info: undefined };
  private recordSlot = -1;
  private initialised = false;
  private downloading = false;
  /** Image sectors erased since the download began (sectors are erased as writes reach them). */
  private erasedSectors = 0;

  constructor(device: BlockDevice, options: FlashFirmwareStorageOptions = {}) {
    if (device.byteLength < device.sectorSize * (RECORD_SECTORS + 1)) {
      throw new HalError("invalid-argument", `firmware storage needs at least ${RECORD_SECTORS + 1} sectors`);
    }
    this.device = device;
    this.options = options;
    this.imageBase = device.sectorSize * RECORD_SECTORS;
    this.capacity = device.byteLength - this.imageBase;
  }

  /** Largest update-info record, in bytes. */
  get maxUpdateInfoBytes(): number {
    return Math.min(this.device.sectorSize - HEADER_BYTES - TRAILER_BYTES, NO_INFO - 1);
  }

  init(): void {
    let best: Record | undefined;
    for (let slot = 0; slot < RECORD_SECTORS; slot++) {
      const candidate = this.readSlot(slot);
      if (candidate && (!best || candidate.sequence > best.sequence)) {
        best = candidate;
        this.recordSlot = slot;
      }
    }
    if (best) this.record = best;
    this.initialised = true;
    this.downloading = false;
    if (this.record.state === BootState.ActivateRequested) {
      const verify = this.options.verifyActivatedImage ?? verifyCrc;
      const ok = verify(this, this.record.imageLength, this.record.imageCrc);
      this.commit({ state: ok ? BootState.ActivatedOk : BootState.ActivatedFailed });
    }
  }

  beginDownload(expectedSize?: number): void {
    this.requireInit();
    if (expectedSize !== undefined && (!Number.isInteger(expectedSize) || expectedSize < 0 || expectedSize > this.capacity)) {
      throw new HalError("too-large", `image of ${expectedSize} bytes does not fit the ${this.capacity}-byte firmware area`);
    }
    if (this.record.state !== BootState.Idle) this.commit({ state: BootState.Idle, imageLength: 0, imageCrc: 0 });
    this.erasedSectors = 0;
    this.downloading = true;
  }

  resumeDownload(offset: number): void {
    this.requireInit();
    this.checkImageRange(offset, 0);
    if (this.record.state !== BootState.Idle && this.record.state !== BootState.Downloaded) throw new HalError("invalid-argument", "no interrupted download to resume (an image is being activated or was activated)");
    // Power may fail after endDownload but before the caller recorded it: the download goes on (and ends) again.
    if (this.record.state === BootState.Downloaded) this.commit({ state: BootState.Idle, imageLength: 0, imageCrc: 0 });
    // The sector holding `offset` keeps its earlier bytes; a sector starting at `offset` is erased again.
    this.erasedSectors = Math.ceil(offset / this.device.sectorSize);
    this.downloading = true;
  }

  write(offset: number, data: Uint8Array): void {
    this.requireInit();
    if (!this.downloading) throw new HalError("invalid-argument", "write before beginDownload");
    this.checkImageRange(offset, data.length);
    const end = Math.ceil((offset + data.length) / this.device.sectorSize);
    while (this.erasedSectors < end) this.device.eraseSector(RECORD_SECTORS + this.erasedSectors++);
    this.device.write(this.imageBase + offset, data);
  }

  read(offset: number, length: number): Uint8Array {
    this.requireInit();
    this.checkImageRange(offset, length);
    return this.device.read(this.imageBase + offset, length);
  }

  endDownload(result: DownloadResult, totalLength: number): void {
    this.requireInit();
    this.downloading = false;
    if (result !== "success") {
      this.commit({ state: BootState.Idle, imageLength: 0, imageCrc: 0 });
      return;
    }
    this.checkImageRange(0, totalLength);
    this.commit({ state: BootState.Downloaded, imageLength: totalLength, imageCrc: this.imageCrc(totalLength) });
  }

  activate(): void {
    this.requireInit();
    if (this.record.state !== BootState.Downloaded) {
      throw new HalError("invalid-argument", "activate needs a completely downloaded image");
    }
    this.commit({ state: BootState.ActivateRequested });
  }

  getActivateResult(): ActivateResult {
    this.requireInit();
    const state = this.record.state;
    if (state !== BootState.ActivatedOk && state !== BootState.ActivatedFailed) return "none";
    return state === BootState.ActivatedOk ? "success" : "failure";
  }

  writeUpdateInfo(info: Uint8Array): void {
    this.requireInit();
    if (info.length > this.maxUpdateInfoBytes) {
      throw new HalError("too-large", `update info of ${info.length} bytes exceeds ${this.maxUpdateInfoBytes}`);
    }
    this.commit({ info: info.slice() });
  }

  readUpdateInfo(): Uint8Array | undefined {
    this.requireInit();
    return this.record.info?.slice();
  }

  /** CRC-32 of the first `length` image bytes, read in sector-sized chunks. */
  imageCrc(length: number): number {
    let crc = 0;
    for (let offset = 0; offset < length; offset += this.device.sectorSize) {
      const chunk = Math.min(this.device.sectorSize, length - offset);
      crc = crc32(this.device.read(this.imageBase + offset, chunk), crc);
    }
    return crc;
  }

  private requireInit(): void {
    if (!this.initialised) throw new HalError("invalid-argument", "firmware storage used before init()");
  }

  private checkImageRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.capacity) {
      throw new HalError("out-of-range", `image bytes ${offset}..${offset + length} exceed the ${this.capacity}-byte firmware area`);
    }
  }

  /** Writes the record with `changes` into the slot not holding the current one. */
  private commit(changes: Partial<Record>): void {
    const next: Record = { ...this.record, ...changes, sequence: this.record.sequence + 1 };
    const slot = this.recordSlot === 0 ? 1 : 0;
    this.device.eraseSector(slot);
    this.device.write(slot * this.device.sectorSize, encodeRecord(next));
    this.record = next;
    this.recordSlot = slot;
  }

  private readSlot(slot: number): Record | undefined {
    const header = this.device.read(slot * this.device.sectorSize, HEADER_BYTES);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (view.getUint32(0) !== MAGIC) return undefined;
    const infoLength = view.getUint16(17);
    const bodyLength = infoLength === NO_INFO ? 0 : infoLength;
    if (bodyLength > this.maxUpdateInfoBytes) return undefined;
    const whole = this.device.read(slot * this.device.sectorSize, HEADER_BYTES + bodyLength + TRAILER_BYTES);
    const wholeView = new DataView(whole.buffer, whole.byteOffset, whole.byteLength);
    const stored = wholeView.getUint32(HEADER_BYTES + bodyLength);
    if (crc32(whole.subarray(0, HEADER_BYTES + bodyLength)) !== stored) return undefined;
    const state = view.getUint8(8);
    if (state > BootState.ActivatedFailed) return undefined;
    return {
      sequence: view.getUint32(4),
      state,
      imageLength: view.getUint32(9),
      imageCrc: view.getUint32(13),
      info: infoLength === NO_INFO ? undefined : whole.slice(HEADER_BYTES, HEADER_BYTES + bodyLength),
    };
  }
}

function encodeRecord(record: Record): Uint8Array {
  const infoLength = record.info ? record.info.length : 0;
  const bytes = new Uint8Array(HEADER_BYTES + infoLength + TRAILER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, record.sequence);
  view.setUint8(8, record.state);
  view.setUint32(9, record.imageLength);
  view.setUint32(13, record.imageCrc);
  view.setUint16(17, record.info ? record.info.length : NO_INFO);
  if (record.info) bytes.set(record.info, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + infoLength, crc32(bytes.subarray(0, HEADER_BYTES + infoLength)));
  return bytes;
}

function verifyCrc(storage: FlashFirmwareStorage, length: number, crc: number): boolean {
  return length > 0 && length <= storage.capacity && storage.imageCrc(length) === crc;
}
