import { ResponseCode } from "../../coap/constants.js";
import type { ObjectInstance } from "../model/object-store.js";
import { FirmwareState, FirmwareUpdateResource, FirmwareUpdateResult } from "./firmware-update.js";

/** What the application supplies to the Firmware Update object; transfer and storage live behind these. */
export interface FirmwareUpdateHandlers {
  /** Starts a pull download of `uri`; call done(result) when it ends (Success or a failure result). */
  startDownload(uri: string, done: (result: number) => void): void;
  /** Accepts a pushed package (/5/0/0); return a failure result to refuse, or nothing to accept. */
  acceptPackage?(data: Uint8Array): number | void;
  /** Cancels a running download (an empty Package URI was written). */
  cancelDownload?(): void;
  /** Installs the downloaded image; call done(result) after the reboot or when it failed. */
  update(done: (result: number) => void): void;
  /** Protocols for Package URI (/5/0/8; 0 CoAP, 1 CoAPS, 2 HTTP, 3 HTTPS, 4 CoAP/TCP, 5 CoAP/TLS). */
  readonly protocols?: readonly number[];
}

/**
 * The Firmware Update state machine (OMA-TS-LightweightM2M_Core §E.6):
 * Idle → Downloading (Package URI written) → Downloaded → Updating (Update
 * executed) → Idle with an Update Result. A write in the wrong state gets
 * 4.05, an Update before Downloaded gets 4.05 (Method Not Allowed), an empty
 * URI or package resets to Idle.
 */
export class FirmwareUpdateStateMachine {
  private readonly instance: ObjectInstance;
  private readonly handlers: FirmwareUpdateHandlers;

  constructor(instance: ObjectInstance, handlers: FirmwareUpdateHandlers) {
    this.instance = instance;
    this.handlers = handlers;
    instance.set(FirmwareUpdateResource.PackageUri, "");
    instance.set(FirmwareUpdateResource.State, FirmwareState.Idle);
    instance.set(FirmwareUpdateResource.UpdateResult, FirmwareUpdateResult.Initial);
    instance.set(FirmwareUpdateResource.ProtocolSupport, new Map((handlers.protocols ?? [0]).map((protocol, index) => [index, protocol])));
    instance.set(FirmwareUpdateResource.DeliveryMethod, handlers.acceptPackage ? 2 : 0); // 0 pull, 2 both
    instance.bind(FirmwareUpdateResource.PackageUri, { write: (value) => this.writeUri(String(value)) });
    instance.bind(FirmwareUpdateResource.Package, { write: (value) => this.writePackage(value instanceof Uint8Array ? value : new Uint8Array(0)) });
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

  get state(): number {
    return this.instance.get(FirmwareUpdateResource.State) as number;
  }

  get result(): number {
    return this.instance.get(FirmwareUpdateResource.UpdateResult) as number;
  }

  private set(state: number, result?: number): void {
    if (result !== undefined) this.instance.set(FirmwareUpdateResource.UpdateResult, result);
    this.instance.set(FirmwareUpdateResource.State, state);
  }

  private writeUri(uri: string): number | void {
    if (uri === "") {
      if (this.state === FirmwareState.Downloading) this.handlers.cancelDownload?.();
      this.set(FirmwareState.Idle, FirmwareUpdateResult.Initial);
      return;
    }
    if (this.state !== FirmwareState.Idle) return ResponseCode.MethodNotAllowed;
    const scheme = /^(coaps?|https?|coap\+tcp|coaps\+tcp):\/\//.exec(uri)?.[1];
    const protocol = { coap: 0, coaps: 1, http: 2, https: 3, "coap+tcp": 4, "coaps+tcp": 5 }[scheme ?? ""];
    if (protocol === undefined) {
      this.instance.set(FirmwareUpdateResource.UpdateResult, FirmwareUpdateResult.InvalidUri);
      return ResponseCode.BadRequest;
    }
    if ((this.handlers.protocols ?? [0]).indexOf(protocol) < 0) {
      this.instance.set(FirmwareUpdateResource.UpdateResult, FirmwareUpdateResult.UnsupportedProtocol);
      return ResponseCode.BadRequest;
    }
    this.set(FirmwareState.Downloading, FirmwareUpdateResult.Initial);
    this.handlers.startDownload(uri, (result) => {
      if (this.state !== FirmwareState.Downloading) return; // cancelled meanwhile
      if (result === FirmwareUpdateResult.Success) this.set(FirmwareState.Downloaded, FirmwareUpdateResult.Initial);
      else this.set(FirmwareState.Idle, result);
    });
  }

  private writePackage(data: Uint8Array): number | void {
    if (data.length === 0) {
      this.set(FirmwareState.Idle, FirmwareUpdateResult.Initial);
      return;
    }
    if (!this.handlers.acceptPackage) return ResponseCode.MethodNotAllowed;
    if (this.state !== FirmwareState.Idle) return ResponseCode.MethodNotAllowed;
    const refused = this.handlers.acceptPackage(data);
    if (typeof refused === "number") {
      this.set(FirmwareState.Idle, refused);
      return;
    }
    this.set(FirmwareState.Downloaded, FirmwareUpdateResult.Initial);
  }

  private executeUpdate(): number | void {
    if (this.state !== FirmwareState.Downloaded) return ResponseCode.MethodNotAllowed;
    this.set(FirmwareState.Updating);
    this.handlers.update((result) => this.set(FirmwareState.Idle, result));
  }
}
