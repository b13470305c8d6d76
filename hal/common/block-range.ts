import { HalError } from "../errors.js";

export function checkRange(device: { readonly byteLength: number }, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > device.byteLength) {
    throw new HalError("out-of-range", `bytes ${offset}..${offset + length} are outside the ${device.byteLength}-byte device`);
  }
}
