import type { ObjectInstance } from "../model/object-store.js";
import { DeviceError, DeviceResource } from "./device.js";

/**
 * The Device object's Error Code list (/3/0/11) with Reset Error Code
 * (/3/0/12): errors are added once each; the list holds 0 when there is none.
 */
export class DeviceErrors {
  private readonly instance: ObjectInstance;
  private readonly codes: number[] = [];

  constructor(instance: ObjectInstance) {
    this.instance = instance;
    this.publish();
    instance.bind(DeviceResource.ResetErrorCode, { execute: () => this.reset() });
  }

  add(code: number): void {
    if (code === DeviceError.None || this.codes.indexOf(code) >= 0) return;
    this.codes.push(code);
    this.publish();
  }

  reset(): void {
    this.codes.length = 0;
    this.publish();
  }

  list(): readonly number[] {
    return this.codes.slice();
  }

  private publish(): void {
    const list = this.codes.length ? this.codes : [DeviceError.None];
    this.instance.set(DeviceResource.ErrorCode, new Map(list.map((code, index) => [index, code])));
  }
}
