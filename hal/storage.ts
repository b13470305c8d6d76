/**
 * Persistent storage: small settings and a block device for firmware images.
 */

/** Longest key every port accepts (ESP32 NVS allows 15 characters). */
export const MAX_SETTING_KEY_LENGTH = 15;
/** Largest value every port accepts, in bytes (strings count as UTF-8). */
export const MAX_SETTING_VALUE_BYTES = 1024;

export type SettingValue = string | number | boolean | Uint8Array;

/**
 * Key/value settings (endpoint, keys, registration and bootstrap state), kept
 * under a domain like Moddable's Preference. Keys are at most
 * MAX_SETTING_KEY_LENGTH characters of [A-Za-z0-9_.-].
 */
export interface SettingsStore {
  get(key: string): SettingValue | undefined;
  set(key: string, value: SettingValue): void;
  delete(key: string): void;
  keys(): string[];
}

/** A raw erase-before-write device such as a flash partition. */
export interface BlockDevice {
  readonly byteLength: number;
  /** Erase granularity; erased bytes read as 0xFF. */
  readonly sectorSize: number;
  read(offset: number, length: number): Uint8Array;
  /** Writes bytes; flash semantics: a write can only clear bits of erased bytes. */
  write(offset: number, data: Uint8Array): void;
  eraseSector(sector: number): void;
}

/** What the boot loader made of the last activated image. */
export type ActivateResult = "none" | "success" | "failure";

/** Outcome of a download, as Agent Tiny's write_software_end reports it. */
export type DownloadResult = "success" | "failure";

/**
 * Agent Tiny's firmware storage device (atiny_fota_storage_device_s and
 * pack_storage_device_api_s): an image area written at offsets, an activation
 * step, and a small update-info record that survives power loss.
 */
export interface FirmwareStorage {
  /** Bytes available for one image. */
  readonly capacity: number;
  /** Opens the device and recovers its records; call once at start-up. */
  init(): void;
  /**
   * Prepares the image area for a new download of `expectedSize` bytes (when
   * known). Sectors are erased as writes reach them, so a start takes no
   * time and an erase is never far from the data that needs it.
   */
  beginDownload(expectedSize?: number): void;
  /**
   * Continues a download interrupted (by a reboot or power loss) once
   * `offset` bytes had been written: bytes before it are kept; bytes from it
   * on are written again (the same data, so a torn write is completed).
   */
  resumeDownload(offset: number): void;
  /** Writes image bytes at `offset`; offsets may repeat when a download resumes. */
  write(offset: number, data: Uint8Array): void;
  /** Reads back image bytes (integrity checks, hash restore on resume). */
  read(offset: number, length: number): Uint8Array;
  /** Ends the download; on success `totalLength` is the image size. */
  endDownload(result: DownloadResult, totalLength: number): void;
  /** Marks the downloaded image for the boot loader; the device reboots afterwards. */
  activate(): void;
  /**
   * Result of the last activation, after the reboot: the same answer on
   * every call until the next beginDownload, so a power loss before the
   * caller has recorded it loses nothing.
   */
  getActivateResult(): ActivateResult;
  /** Replaces the update-info record; power loss leaves either the old or the new record. */
  writeUpdateInfo(info: Uint8Array): void;
  readUpdateInfo(): Uint8Array | undefined;
}
