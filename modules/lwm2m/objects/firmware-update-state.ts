import { ResponseCode } from "../../coap/constants.js";
import type { ObjectInstance } from "../model/object-store.js";
import { FirmwareState, FirmwareUpdateResource, FirmwareUpdateResult } from "./firmware-update.js";

/** PkgName and PkgVersion (/5/0/6, /5/0/7) of a package, once it is known. */
export interface PackageIdentity {
  readonly name: string;
  readonly version: string;
}

/** Ends a transfer: Success (with the package's identity) or a failure Update Result. */
export type TransferDone = (result: number, identity?: PackageIdentity) => void;

/**
 * What the application supplies to the Firmware Update object (Anjay's and
 * Zephyr's split): the object and its state machine are the engine's; the
 * transfer, the storage and the installation live behind these.
 */
export interface FirmwareUpdateHandlers {
  /** Why `uri` is malformed (Update Result 7 and 4.00 at once), or undefined when it is well formed. */
  checkUri?(uri: string): string | undefined;
  /** Starts a pull download of `uri`; call done once when it ends. */
  startDownload(uri: string, done: TransferDone): void;
  /**
   * A block of a pushed package (/5/0/0), in order from offset 0; `more` is
   * false on the last. Call done once when the package ends (after the last
   * block, or earlier on a failure).
   */
  writePackage?(offset: number, data: Uint8Array, more: boolean, done: TransferDone): void;
  /**
   * Continues a pull download that a reboot interrupted (the machine started
   * in Downloading); false when there is none. Called once the client is
   * registered.
   */
  resume?(done: TransferDone): boolean;
  /** Cancels a running download or push (an empty Package URI or Package was written). */
  cancelDownload?(): void;
  /** Stops every transfer and timer behind the object (the agent's deinit). */
  close?(): void;
  /** Installs the downloaded image; done(result) when it failed (on success the device reboots). */
  update(done: (result: number) => void): void;
  /** Protocols for Package URI (/5/0/8; 0 CoAP, 1 CoAPS, 2 HTTP, 3 HTTPS, 4 CoAP/TCP, 5 CoAP/TLS). */
  readonly protocols?: readonly number[];
  /** Where an update stood before the last reboot. */
  readonly initial?: { readonly state: number; readonly result: number; readonly identity?: PackageIdentity };
  /** Every change of State or Update Result, after observers were told. */
  onChange?(state: number, result: number): void;
}

const SCHEME_PROTOCOLS: Readonly<Record<string, number>> = Object.freeze({ coap: 0, coaps: 1, http: 2, https: 3, "coap+tcp": 4, "coaps+tcp": 5 });

/**
 * The Firmware Update state machine (OMA-TS-LightweightM2M_Core §E.6):
 * Idle → Downloading (Package URI written, or Package pushed) → Downloaded →
 * Updating (Update executed) → Idle with an Update Result. A write in the
 * wrong state gets 4.05, an Update before Downloaded 4.05, an empty URI or
 * package cancels and returns to Idle. Every change notifies observers of
 * /5/0/3 and /5/0/5 (instance.set) and calls onChange.
 */
export class FirmwareUpdateStateMachine {
  private readonly instance: ObjectInstance;
  private readonly handlers: FirmwareUpdateHandlers;
  /** Counts transfers, so a late done() of a cancelled one changes nothing. */
  private transfer = 0;
  private pushing = false;
  private resumeAsked = false;

  constructor(instance: ObjectInstance, handlers: FirmwareUpdateHandlers) {
    this.instance = instance;
    this.handlers = handlers;
    const initial = handlers.initial;
    const state = initial && FirmwareUpdateStateMachine.isState(initial.state) ? initial.state : FirmwareState.Idle;
    instance.set(FirmwareUpdateResource.PackageUri, "");
    instance.set(FirmwareUpdateResource.State, state);
    instance.set(FirmwareUpdateResource.UpdateResult, initial?.result ?? FirmwareUpdateResult.Initial);
    instance.set(FirmwareUpdateResource.PkgName, initial?.identity?.name ?? "");
    instance.set(FirmwareUpdateResource.PkgVersion, initial?.identity?.version ?? "");
    instance.set(FirmwareUpdateResource.ProtocolSupport, new Map((handlers.protocols ?? [0]).map((protocol, index) => [index, protocol])));
    instance.set(FirmwareUpdateResource.DeliveryMethod, handlers.writePackage ? 2 : 0); // 0 pull, 2 both
    instance.bind(FirmwareUpdateResource.PackageUri, { write: (value) => this.writeUri(String(value)) });
    instance.bind(FirmwareUpdateResource.Package, {
      write: (value) => this.packageBlock(0, value instanceof Uint8Array ? value : new Uint8Array(0), false),
      writeBlock: (offset, data, more) => this.packageBlock(offset, data, more),
    });
    instance.bind(FirmwareUpdateResource.Update, { execute: () => this.executeUpdate() });
  }

  /** Whether `state` is a State value (/5/0/3: 0 Idle … 3 Updating). */
  static isState(state: unknown): state is number {
    return typeof state === "number" && Number.isInteger(state) && state >= FirmwareState.Idle && state <= FirmwareState.Updating;
  }

  /**
   * The application moved the update to `state` (Agent Tiny's
   * FIRMWARE_UPDATE_STATE report). It is stored without notifying: the
   * report itself is the notification. False for a value that is no state.
   */
  reportState(state: number): boolean {
    if (!FirmwareUpdateStateMachine.isState(state)) return false;
    this.instance.set(FirmwareUpdateResource.State, state, false);
    return true;
  }

  /** The client is registered: a download a reboot interrupted continues (once). */
  resumeInterrupted(): void {
    if (this.state !== FirmwareState.Downloading || this.pushing || this.resumeAsked || !this.handlers.resume) return;
    this.resumeAsked = true;
    const transfer = this.transfer;
    const resumed = this.handlers.resume((result, identity) => this.transferEnded(transfer, result, identity));
    if (!resumed) this.set(FirmwareState.Idle, FirmwareUpdateResult.ConnectionLost);
  }

  get state(): number {
    return this.instance.get(FirmwareUpdateResource.State) as number;
  }

  get result(): number {
    return this.instance.get(FirmwareUpdateResource.UpdateResult) as number;
  }

  private set(state: number, result?: number): void {
    const before = { state: this.state, result: this.result };
    if (result !== undefined) this.instance.set(FirmwareUpdateResource.UpdateResult, result);
    this.instance.set(FirmwareUpdateResource.State, state);
    if (before.state !== state || before.result !== this.result) this.handlers.onChange?.(state, this.result);
  }

  private cancel(): void {
    if (this.state === FirmwareState.Downloading) this.handlers.cancelDownload?.();
    this.transfer++;
    this.pushing = false;
    this.instance.set(FirmwareUpdateResource.PackageUri, "");
    this.set(FirmwareState.Idle, FirmwareUpdateResult.Initial);
  }

  private writeUri(uri: string): number | void {
    if (uri === "") return this.cancel();
    if (this.state !== FirmwareState.Idle) return ResponseCode.MethodNotAllowed;
    const scheme = /^([a-z+]+):\/\/[^/?#]/.exec(uri)?.[1];
    if (scheme === undefined || this.handlers.checkUri?.(uri) !== undefined) {
      this.set(FirmwareState.Idle, FirmwareUpdateResult.InvalidUri);
      return ResponseCode.BadRequest;
    }
    const protocol = SCHEME_PROTOCOLS[scheme];
    if (protocol === undefined) {
      this.set(FirmwareState.Idle, FirmwareUpdateResult.UnsupportedProtocol);
      return ResponseCode.BadRequest;
    }
    if ((this.handlers.protocols ?? [0]).indexOf(protocol) < 0) {
      this.set(FirmwareState.Idle, FirmwareUpdateResult.UnsupportedProtocol);
      return ResponseCode.BadRequest;
    }
    const transfer = this.startTransfer();
    this.handlers.startDownload(uri, (result, identity) => this.transferEnded(transfer, result, identity));
  }

  private packageBlock(offset: number, data: Uint8Array, more: boolean): number | void {
    if (offset === 0 && data.length === 0 && !more) return this.cancel();
    const writePackage = this.handlers.writePackage;
    if (!writePackage) return ResponseCode.MethodNotAllowed;
    if (offset === 0) {
      // A push may start over from block 0; anything else needs Idle.
      if (this.state !== FirmwareState.Idle && !(this.pushing && this.state === FirmwareState.Downloading)) return ResponseCode.MethodNotAllowed;
      if (this.pushing) this.handlers.cancelDownload?.();
      this.instance.set(FirmwareUpdateResource.PackageUri, "");
      this.startTransfer();
      this.pushing = true;
    } else if (!this.pushing || this.state !== FirmwareState.Downloading) {
      return ResponseCode.RequestEntityIncomplete;
    }
    const transfer = this.transfer;
    writePackage(offset, data, more, (result, identity) => this.transferEnded(transfer, result, identity));
    // A push that failed before its last block refuses the block; the reason is in Update Result.
    if (more && this.transfer === transfer && !this.pushing) {
      return this.result === FirmwareUpdateResult.NotEnoughStorage ? ResponseCode.RequestEntityTooLarge : ResponseCode.BadRequest;
    }
  }

  private startTransfer(): number {
    this.transfer++;
    this.instance.set(FirmwareUpdateResource.PkgName, "");
    this.instance.set(FirmwareUpdateResource.PkgVersion, "");
    this.set(FirmwareState.Downloading, FirmwareUpdateResult.Initial);
    return this.transfer;
  }

  private transferEnded(transfer: number, result: number, identity: PackageIdentity | undefined): void {
    if (transfer !== this.transfer || this.state !== FirmwareState.Downloading) return; // cancelled meanwhile
    this.pushing = false;
    if (result !== FirmwareUpdateResult.Success) return this.set(FirmwareState.Idle, result);
    if (identity) {
      this.instance.set(FirmwareUpdateResource.PkgName, identity.name);
      this.instance.set(FirmwareUpdateResource.PkgVersion, identity.version);
    }
    this.set(FirmwareState.Downloaded, FirmwareUpdateResult.Initial);
  }

  private executeUpdate(): number | void {
    if (this.state !== FirmwareState.Downloaded) return ResponseCode.MethodNotAllowed;
    this.set(FirmwareState.Updating);
    this.handlers.update((result) => this.set(FirmwareState.Idle, result));
  }
}
