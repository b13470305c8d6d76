/**
 * `npm start -- --modem …`: the firmware's network through an AT modem on a
 * serial line. Without --serial an emulated module (test/modem) answers on a
 * pty and relays its links to this machine's sockets; with --serial the
 * firmware drives a real module on that TTY (a USB-serial adapter).
 */
import { MODEM_KINDS, type ModemKind } from "../modules/at/modem-net.js";
import { startEmulator, type RunningEmulator } from "../test/modem/start.js";

export interface ModemOptions {
  readonly modem: ModemKind;
  /** A real module's TTY; absent: an emulated module on a pty. */
  readonly serial?: string;
  readonly ssid?: string;
  readonly password?: string;
  readonly apn?: string;
  readonly baud?: number;
}

/** What the emulated ESP8266's access point is called and its password, unless --modem-ssid/--modem-password say otherwise. */
export const EMULATED_AP = Object.freeze({ ssid: "xs-lab", password: "xs-lab-password" });

export function parseModemKind(value: string): ModemKind {
  const kind = MODEM_KINDS.find((candidate) => candidate === value);
  if (!kind) throw new Error(`--modem must be one of ${MODEM_KINDS.join(", ")}, got "${value}"`);
  return kind;
}

/** The firmware's configuration values for this modem (read by modules/app/firmware-settings.ts). */
export function modemConfig(options: ModemOptions): Record<string, string> {
  const emulated = options.serial === undefined;
  const config: Record<string, string> = { modem: options.modem };
  const ssid = options.ssid ?? (emulated ? EMULATED_AP.ssid : undefined);
  const password = options.password ?? (emulated && options.ssid === undefined ? EMULATED_AP.password : undefined);
  if (options.modem === "esp8266" && ssid !== undefined) config["modemSsid"] = ssid;
  if (options.modem === "esp8266" && password !== undefined) config["modemPassword"] = password;
  if (options.apn !== undefined) config["modemApn"] = options.apn;
  if (options.baud !== undefined) config["modemBaud"] = String(options.baud);
  return config;
}

/**
 * Starts the emulated module when no real one is given. Returns the TTY the
 * firmware opens and how to stop the emulator. `trace` receives the module's
 * side of the AT dialogue (shown at --log trace; the firmware logs its side at
 * --log debug).
 */
export async function openModemLine(options: ModemOptions, trace?: (line: string) => void): Promise<{ serialPath: string; close: () => Promise<void> }> {
  if (options.serial !== undefined) return { serialPath: options.serial, close: async () => undefined };
  const running: RunningEmulator = await startEmulator({
    modem: options.modem,
    ssid: options.ssid ?? EMULATED_AP.ssid,
    password: options.password ?? (options.ssid === undefined ? EMULATED_AP.password : ""),
    ...(options.apn !== undefined ? { apn: options.apn } : {}),
    ...(trace ? { log: trace } : {}),
    startUpLines: true,
  });
  return { serialPath: running.devicePath!, close: () => running.close() };
}
