export type ModemKind = "esp8266" | "sim900a" | "bc95";

export const MODEM_KINDS: readonly ModemKind[] = Object.freeze(["esp8266", "sim900a", "bc95"] as const);

export interface ModemSettings {
  readonly modem: ModemKind;
  /** Default 115200 for esp8266 and sim900a, 9600 for bc95. */
  readonly baud?: number;
  /** ESP8266: the access point to join. */
  readonly ssid?: string;
  readonly password?: string;
  /** SIM900A: APN (default "CMNET"), user and password. */
  readonly apn?: string;
  readonly apnUser?: string;
  readonly apnPassword?: string;
  /** Default per command; CWJAP (20 s), CIICR (85 s) and the like keep their own longer limits. */
  readonly commandTimeoutMs?: number;
}

export function isModemKind(value: unknown): value is ModemKind {
  return typeof value === "string" && (MODEM_KINDS as readonly string[]).indexOf(value) >= 0;
}
