import { HalError } from "../errors.js";

/** Zephyr builds have no "net" module: configure servers by numeric address. */
export function resolveName(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
  Promise.resolve().then(() =>
    callback(new HalError("dns-failed", `host names are not resolved on Zephyr targets; use a numeric address instead of "${host}"`)),
  );
}
