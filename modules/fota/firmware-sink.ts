import type { CryptoEngine } from "../../hal/crypto.js";
import { isHalError } from "../../hal/errors.js";
import type { FirmwareStorage } from "../../hal/storage.js";
import { FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import type { PackageIdentity } from "../lwm2m/objects/firmware-update-state.js";
import { verifyPackage } from "./package-verifier.js";

/** The outcome of checking a whole package. */
export type SinkVerdict = { readonly result: number; readonly identity?: PackageIdentity; readonly detail: string };

/**
 * Where a firmware package goes and how it is installed: the application's
 * handler struct (Anjay's firmware-update handlers, Agent Tiny's storage
 * device). Methods return a Firmware Update Result to fail, nothing to go on.
 */
export interface FirmwareSink {
  /** Bytes available for one package. */
  readonly capacity: number;
  /** Starts a package (resumeAt 0; `expectedSize` when known) or continues one that was interrupted after `resumeAt` bytes. */
  open(expectedSize: number | undefined, resumeAt: number): number | void;
  write(offset: number, data: Uint8Array): number | void;
  /** Checks the `length`-byte package before it may become Downloaded. */
  verify(length: number): SinkVerdict;
  /** Records the verified package as completely downloaded. */
  finish(length: number): number | void;
  /** Installs the downloaded package; the device reboots after it. */
  performUpdate(): number | void;
  /** After a reboot: what became of the last installation. */
  updateOutcome(): "none" | "success" | "failure";
  /** Abandons a partial or downloaded package. */
  reset(): void;
}

/** Firmware packages signed with the key the firmware is configured with (modules/fota/package-format.ts). */
export interface PackageTrust {
  /** SHA-256 and ECDSA P-256 (Platform.crypto); without it every package fails its check. */
  readonly crypto: CryptoEngine | undefined;
  /** The uncompressed P-256 public key (65 bytes); without it every package fails its check. */
  readonly publicKey: Uint8Array | undefined;
}

/** The default sink: the HAL firmware storage device, packages checked against their signature. */
export class StorageFirmwareSink implements FirmwareSink {
  private readonly storage: FirmwareStorage;
  private readonly trust: PackageTrust;

  constructor(storage: FirmwareStorage, trust: PackageTrust) {
    this.storage = storage;
    this.trust = trust;
  }

  get capacity(): number {
    return this.storage.capacity;
  }

  open(expectedSize: number | undefined, resumeAt: number): number | void {
    if (expectedSize !== undefined && expectedSize > this.storage.capacity) return FirmwareUpdateResult.NotEnoughStorage;
    return this.attempt(() => (resumeAt > 0 ? this.storage.resumeDownload(resumeAt) : this.storage.beginDownload(expectedSize)));
  }

  write(offset: number, data: Uint8Array): number | void {
    if (offset + data.length > this.storage.capacity) return FirmwareUpdateResult.NotEnoughStorage;
    return this.attempt(() => this.storage.write(offset, data));
  }

  verify(length: number): SinkVerdict {
    const { crypto, publicKey } = this.trust;
    if (!crypto) return { result: FirmwareUpdateResult.IntegrityCheckFailure, detail: "this build has no SHA-256/ECDSA (no crypto binding): packages cannot be checked" };
    if (!publicKey) return { result: FirmwareUpdateResult.IntegrityCheckFailure, detail: "no package signing key configured (fotaPublicKey)" };
    const verdict = verifyPackage((offset, count) => this.storage.read(offset, count), length, crypto, publicKey);
    if (!verdict.ok) {
      const result = verdict.reason === "unsupported" ? FirmwareUpdateResult.UnsupportedPackageType : FirmwareUpdateResult.IntegrityCheckFailure;
      return { result, detail: `${verdict.reason}: ${verdict.detail}` };
    }
    return { result: FirmwareUpdateResult.Success, identity: { name: verdict.header.name, version: verdict.header.version }, detail: "signature and image hash verified" };
  }

  finish(length: number): number | void {
    return this.attempt(() => this.storage.endDownload("success", length));
  }

  performUpdate(): number | void {
    return this.attempt(() => this.storage.activate());
  }

  updateOutcome(): "none" | "success" | "failure" {
    return this.storage.getActivateResult();
  }

  reset(): void {
    this.attempt(() => this.storage.endDownload("failure", 0));
  }

  /** Runs a storage step; a package too large for the device is NotEnoughStorage, any other storage fault UpdateFailed. */
  private attempt(step: () => void): number | void {
    try {
      step();
    } catch (error) {
      if (isHalError(error, "too-large") || isHalError(error, "out-of-range")) return FirmwareUpdateResult.NotEnoughStorage;
      if (isHalError(error)) return FirmwareUpdateResult.UpdateFailed;
      throw error;
    }
  }
}
