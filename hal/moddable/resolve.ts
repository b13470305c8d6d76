import NetInfo from "net";
import { HalError } from "../errors.js";

/** Host-name resolution through the SDK's "net" module (ESP32 and the simulator). */
export function resolveName(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
  NetInfo.resolve(host, (_name, address) => {
    if (address) callback(undefined, address);
    else callback(new HalError("dns-failed", `cannot resolve "${host}"`));
  });
}
