import type { FirmwareConfig } from "../../hal/platform.js";
import type { SettingsStore } from "../../hal/storage.js";
import { MODEM_KINDS, type ModemSettings } from "../at/modem-net.js";
import type { BootstrapMode } from "../lwm2m/server-accounts.js";

/** The demo firmware's configuration. */
export interface FirmwareSettings {
  /** The factory-configured LwM2M server; none in client-initiated mode, where the bootstrap server provisions it. */
  readonly server: string | undefined;
  /** A server that was configured but is not used (client-initiated mode). */
  readonly ignoredServer: string | undefined;
  readonly endpoint: string;
  readonly lifetime: number;
  readonly binding: "U" | "UQ";
  readonly bootstrap: string | undefined;
  /** A bootstrap server that was configured but is not used (factory mode). */
  readonly ignoredBootstrap: string | undefined;
  readonly bootstrapMode: BootstrapMode;
  /** DTLS PSK identity and key, for whichever of the server and the bootstrap server is coaps://. */
  readonly pskId: string | undefined;
  readonly psk: Uint8Array | undefined;
  /** DTLS handshake retransmission timers (RFC 6347 initial and largest interval); undefined keeps 1 s and 60 s. */
  readonly dtlsHandshakeMinMs: number | undefined;
  readonly dtlsHandshakeMaxMs: number | undefined;
  readonly reportIntervalMs: number;
  /** The AT-command radio module that carries the network, or undefined for the platform's own network. */
  readonly modem: ModemSettings | undefined;
  /** The key firmware packages must be signed with (uncompressed P-256 point, 65 bytes); without it every package is refused. */
  readonly fotaPublicKey: Uint8Array | undefined;
  /** CoAP Block2 size for firmware downloads (16..1024). */
  readonly fotaBlockSize: number;
}

/** Settings keys (Preferences on Moddable) that supply a value the command line does not. */
export const SETTING_KEYS = Object.freeze({
  server: "app.server",
  endpoint: "app.endpoint",
  lifetime: "app.lifetime",
  binding: "app.binding",
  bootstrap: "app.bootstrap",
  bootstrapMode: "app.bsMode",
  pskId: "app.pskId",
  psk: "app.psk",
  dtlsHandshakeMin: "app.dtlsMin",
  dtlsHandshakeMax: "app.dtlsMax",
  reportInterval: "app.report",
  modem: "app.modem",
  modemBaud: "app.mBaud",
  modemSsid: "app.mSsid",
  modemPassword: "app.mPass",
  modemApn: "app.apn",
  modemApnUser: "app.apnUser",
  modemApnPassword: "app.apnPass",
  fotaPublicKey: "app.fotaKey",
  fotaBlockSize: "app.fotaBlock",
});

/** Agent Tiny's bootstrap modes, as `bootstrapMode` takes them. */
export const BOOTSTRAP_MODES: readonly BootstrapMode[] = Object.freeze(["factory", "client-initiated", "sequence"]);

export const DEFAULTS = Object.freeze({ server: "coap://127.0.0.1:5683", secureServer: "coaps://127.0.0.1:5684", endpoint: "xs-lwm2m-demo", lifetime: 300, binding: "U", reportInterval: 5000 });

function pick(config: FirmwareConfig, settings: SettingsStore, name: keyof typeof SETTING_KEYS): string | undefined {
  const fromConfig = config[name];
  if (fromConfig !== undefined && fromConfig !== "") return String(fromConfig);
  const stored = settings.get(SETTING_KEYS[name]);
  return stored === undefined || stored instanceof Uint8Array ? undefined : String(stored);
}

function hexBytes(text: string, what: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})+$/.test(text)) throw new RangeError(`${what} must be hex pairs, got "${text}"`);
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/**
 * Reads the firmware configuration: mcconfig's name=value arguments (mc/config)
 * or the host's options first, then the settings store, then the defaults.
 * Throws RangeError naming a bad value.
 */
export function readFirmwareSettings(config: FirmwareConfig, settings: SettingsStore): FirmwareSettings {
  const lifetime = Number(pick(config, settings, "lifetime") ?? DEFAULTS.lifetime);
  if (!Number.isInteger(lifetime) || lifetime <= 0) throw new RangeError(`lifetime must be a positive number of seconds`);
  const binding = pick(config, settings, "binding") ?? DEFAULTS.binding;
  if (binding !== "U" && binding !== "UQ") throw new RangeError(`binding must be U or UQ, got "${binding}"`);
  const reportIntervalMs = Number(pick(config, settings, "reportInterval") ?? DEFAULTS.reportInterval);
  if (!Number.isInteger(reportIntervalMs) || reportIntervalMs < 100) throw new RangeError("reportInterval must be at least 100 ms");
  const pskText = pick(config, settings, "psk");
  const pskId = pick(config, settings, "pskId");
  if ((pskText === undefined) !== (pskId === undefined)) throw new RangeError("give both pskId and psk, or neither");
  const server = pick(config, settings, "server");
  const bootstrap = pick(config, settings, "bootstrap");
  const bootstrapMode = readBootstrapMode(config, settings, bootstrap);
  const usedServer = bootstrapMode === "client-initiated" ? undefined : server ?? (pskId === undefined ? DEFAULTS.server : DEFAULTS.secureServer);
  checkCredentials(pskId !== undefined, [usedServer, bootstrapMode === "factory" ? undefined : bootstrap]);
  const [dtlsHandshakeMinMs, dtlsHandshakeMaxMs] = (["dtlsHandshakeMin", "dtlsHandshakeMax"] as const).map((name) => {
    const text = pick(config, settings, name);
    const value = text === undefined ? undefined : Number(text);
    if (value !== undefined && !(Number.isInteger(value) && value >= 100)) throw new RangeError(`${name} must be a whole number of milliseconds, at least 100`);
    return value;
  });
  if (dtlsHandshakeMinMs !== undefined && dtlsHandshakeMaxMs !== undefined && dtlsHandshakeMinMs > dtlsHandshakeMaxMs) throw new RangeError("dtlsHandshakeMin must not exceed dtlsHandshakeMax");
  return {
    server: usedServer,
    ignoredServer: bootstrapMode === "client-initiated" ? server : undefined,
    endpoint: pick(config, settings, "endpoint") ?? DEFAULTS.endpoint,
    lifetime,
    binding,
    bootstrap: bootstrapMode === "factory" ? undefined : bootstrap,
    ignoredBootstrap: bootstrapMode === "factory" ? bootstrap : undefined,
    bootstrapMode,
    pskId,
    psk: pskText === undefined ? undefined : hexBytes(pskText, "psk"),
    dtlsHandshakeMinMs,
    dtlsHandshakeMaxMs,
    reportIntervalMs,
    modem: readModemSettings(config, settings),
    ...readFotaSettings(config, settings),
  };
}

function readFotaSettings(config: FirmwareConfig, settings: SettingsStore): Pick<FirmwareSettings, "fotaPublicKey" | "fotaBlockSize"> {
  const keyText = pick(config, settings, "fotaPublicKey");
  if (keyText !== undefined && !/^04[0-9a-fA-F]{128}$/.test(keyText)) throw new RangeError("fotaPublicKey must be the uncompressed P-256 public key: 130 hex digits starting 04 (npm run fota -- keygen prints it)");
  const blockText = pick(config, settings, "fotaBlockSize");
  const fotaBlockSize = blockText === undefined ? 1024 : Number(blockText);
  if ([16, 32, 64, 128, 256, 512, 1024].indexOf(fotaBlockSize) < 0) throw new RangeError(`fotaBlockSize must be a power of two from 16 to 1024, got "${blockText}"`);
  return { fotaPublicKey: keyText === undefined ? undefined : hexBytes(keyText, "fotaPublicKey"), fotaBlockSize };
}

/** `modem=esp8266|sim900a|bc95` with its Wi-Fi or APN values; the ESP8266 needs an SSID. */
function readModemSettings(config: FirmwareConfig, settings: SettingsStore): ModemSettings | undefined {
  const name = pick(config, settings, "modem");
  if (name === undefined || name === "none") return undefined;
  const modem = MODEM_KINDS.find((kind) => kind === name);
  if (!modem) throw new RangeError(`modem must be one of ${MODEM_KINDS.join(", ")} (or none), got "${name}"`);
  const baudText = pick(config, settings, "modemBaud");
  const baud = baudText === undefined ? undefined : Number(baudText);
  if (baud !== undefined && !(Number.isInteger(baud) && baud >= 1200 && baud <= 921600)) throw new RangeError(`modemBaud must be 1200..921600, got "${baudText}"`);
  const ssid = pick(config, settings, "modemSsid");
  if (modem === "esp8266" && !ssid) throw new RangeError("modem esp8266 needs the Wi-Fi network: modemSsid=NAME (and modemPassword=SECRET)");
  const optional = (key: keyof typeof SETTING_KEYS) => pick(config, settings, key);
  const password = optional("modemPassword");
  const apn = optional("modemApn");
  const apnUser = optional("modemApnUser");
  const apnPassword = optional("modemApnPassword");
  return {
    modem,
    ...(baud === undefined ? {} : { baud }),
    ...(ssid === undefined ? {} : { ssid }),
    ...(password === undefined ? {} : { password }),
    ...(apn === undefined ? {} : { apn }),
    ...(apnUser === undefined ? {} : { apnUser }),
    ...(apnPassword === undefined ? {} : { apnPassword }),
  };
}

/** The configured mode; without one, sequence when a bootstrap server is given, else factory. */
function readBootstrapMode(config: FirmwareConfig, settings: SettingsStore, bootstrap: string | undefined): BootstrapMode {
  const mode = pick(config, settings, "bootstrapMode");
  if (mode === undefined) return bootstrap ? "sequence" : "factory";
  const known = BOOTSTRAP_MODES.find((candidate) => candidate === mode);
  if (!known) throw new RangeError(`bootstrapMode must be factory, client-initiated or sequence, got "${mode}"`);
  if (known !== "factory" && !bootstrap) throw new RangeError(`bootstrapMode ${known} needs a bootstrap server (bootstrap=coap://HOST:PORT)`);
  return known;
}

/** A PSK goes with a coaps:// server or bootstrap server, and a coaps:// one needs the PSK (only PSK mode is supported). */
function checkCredentials(hasPsk: boolean, uris: readonly (string | undefined)[]): void {
  const secure = uris.filter((uri): uri is string => uri !== undefined && uri.startsWith("coaps://"));
  if (hasPsk && secure.length === 0) throw new RangeError("pskId and psk need a coaps:// server or bootstrap server (DTLS)");
  if (!hasPsk && secure.length > 0) throw new RangeError(`${secure[0]} is coaps://: give pskId and psk (DTLS PSK mode)`);
}
