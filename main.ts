import config from "mc/config";
import { createPlatform } from "hal/port";
import type { Platform } from "./hal/platform.js";
import { AgentTiny } from "./modules/agent/agent.js";
import { AgentCode, AgentEvent, ReportType, SEND_STATUS_NAMES } from "./modules/agent/constants.js";
import type { DeviceHooks } from "./modules/agent/device-hooks.js";
import type { AgentParams } from "./modules/agent/params.js";
import { ModemNet, type ModemKind } from "./modules/at/modem-net.js";
import { utf8Encode } from "./modules/agent/text.js";
import { readFirmwareSettings } from "./modules/app/firmware-settings.js";
import { createFirmwareUpdate } from "./modules/app/firmware-update.js";

/** Version of this firmware, reported in /3/0/3 and the start-up log. */
export const FIRMWARE_VERSION = "0.1.0";

const BOOT_COUNT_KEY = "boot.count";

/**
 * The demo firmware, like Agent Tiny's agent_tiny_demo: it registers with an
 * LwM2M server, reports a sensor-like value every few seconds and logs each
 * report's status, takes downlink data on /19/1/0 and answers every device
 * hook with values of the platform it runs on. Moddable calls the default
 * export of the main module at start-up; the host runner does the same in XS.
 */
export default function main(): void {
  const platform = createPlatform(config);
  const log = platform.log.child("main");
  log.info(`firmware ${FIRMWARE_VERSION} starting on ${platform.name}`);
  try {
    run(platform);
  } catch (error) {
    log.error(`start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}

function run(platform: Platform): void {
  const log = platform.log.child("main");
  const previousBoots = platform.settings.get(BOOT_COUNT_KEY);
  const bootCount = (typeof previousBoots === "number" ? previousBoots : 0) + 1;
  platform.settings.set(BOOT_COUNT_KEY, bootCount);
  platform.firmware.init();
  const memory = platform.memory.stats();
  log.info(`boot #${bootCount}; firmware storage ${platform.firmware.capacity} bytes (last activation: ${platform.firmware.getActivateResult()}); memory budget ${memory.bytesTotal} bytes`);

  const settings = readFirmwareSettings(config, platform.settings);
  const firmwareUpdate = createFirmwareUpdate(platform, settings, FIRMWARE_VERSION);
  const runningVersion = firmwareUpdate.updater.runningVersion;
  if (runningVersion !== FIRMWARE_VERSION) log.info(`running firmware image ${runningVersion} (activated by a firmware update; build ${FIRMWARE_VERSION})`);
  log.info(`${settings.server ? `server ${settings.server}` : "server from the bootstrap server"}, endpoint "${settings.endpoint}", lifetime ${settings.lifetime} s, binding ${settings.binding}, bootstrap mode ${settings.bootstrapMode}${settings.bootstrap ? ` (bootstrap server ${settings.bootstrap})` : ""}; report every ${settings.reportIntervalMs} ms`);
  if (settings.ignoredServer) log.warn(`server ${settings.ignoredServer} is ignored in client-initiated mode: the bootstrap server provisions the LwM2M server`);
  if (settings.ignoredBootstrap) log.warn(`bootstrap server ${settings.ignoredBootstrap} is ignored in factory mode`);
  // The one PSK goes to whichever server is coaps:// (DTLS); the settings checked that there is one.
  const credentialsFor = (uri: string) => (settings.psk && uri.startsWith("coaps://") ? { uri, pskId: settings.pskId!, psk: settings.psk } : { uri });
  const params: AgentParams = {
    server: { binding: settings.binding, lifetime: settings.lifetime, storingCount: 8, bootstrapMode: settings.bootstrapMode, holdOffTime: 0 },
    ...(settings.server ? { iotServer: credentialsFor(settings.server) } : {}),
    ...(settings.bootstrap ? { bootstrapServer: credentialsFor(settings.bootstrap) } : {}),
  };
  if (settings.psk) log.info(`DTLS PSK identity "${settings.pskId}"${platform.dtls ? "" : ", but this build has no DTLS"}`);
  // With a modem configured, its AT link stands in for the platform's network beneath the whole stack.
  let agent: AgentTiny | undefined;
  const modem = settings.modem
    ? new ModemNet(platform, settings.modem, {
        onState: (state, detail) => log.info(`modem ${state}: ${detail}`),
        // A new module link may reach the server from another address or port, which its observations do not know.
        onLinkReopened: (remote) => {
          log.info(`modem link to ${remote.address}:${remote.port} reopened: registering again`);
          agent?.reconnect({ register: true });
        },
      })
    : undefined;
  const device: Platform = modem ? { ...platform, net: modem } : platform;
  if (modem) {
    log.info(`network through an AT modem (${settings.modem!.modem}) on the serial port`);
    modem.start();
  }
  agent = AgentTiny.init(params, device, {
    firmwareUpdate: firmwareUpdate.handlers,
    dtls: {
      ...(settings.dtlsHandshakeMinMs ? { handshakeMinMs: settings.dtlsHandshakeMinMs } : {}),
      ...(settings.dtlsHandshakeMaxMs ? { handshakeMaxMs: settings.dtlsHandshakeMaxMs } : {}),
    },
    onLifecycle: (event) => {
      if (event.type === "registered") log.info(`registered with server ${event.shortServerId} at ${event.location}`);
      else if (event.type === "error") log.warn(`registration problem (${event.reason}${event.temporary ? `, retry in ${Math.round((event.retryInMs ?? 0) / 1000)} s` : ", halted"}): ${event.message}`);
      else if (event.type === "unregistered") log.info("deregistered");
    },
  });
  const agentLog = platform.log.child("agent");
  let memoryLogged = false;
  agent.bind({ endpointName: settings.endpoint, manufacturer: "Moddable Example", deviceType: "demo-sensor" }, deviceHooks(platform, agentLog, modem, settings.modem?.modem, runningVersion), (event, arg) => {
    const names: Record<number, string> = { [AgentEvent.RegOk]: "REG_OK", [AgentEvent.RegFail]: "REG_FAIL", [AgentEvent.DataSubscribe]: "DATA_SUBSCRIBE", [AgentEvent.DataUnsubscribe]: "DATA_UNSUBSCRIBE", [AgentEvent.FotaState]: "FOTA_STATE" };
    agentLog.info(`event ${names[event] ?? event}${arg === undefined ? "" : ` (${arg})`}`);
    if (event === AgentEvent.RegOk && !memoryLogged) {
      memoryLogged = true;
      logMemoryUse(platform, log);
    }
  });

  let cookie = 0;
  let reporter = platform.time.setTimer(settings.reportIntervalMs, function report() {
    const value = sensorValue(platform);
    const id = ++cookie;
    const text = `t=${value.toFixed(2)}`;
    const code = agent.dataReport({
      type: ReportType.AppData,
      cookie: id,
      buf: utf8Encode(text),
      callback: (_type, reportCookie, status) => agentLog.info(`report #${reportCookie} (${text}): ${SEND_STATUS_NAMES[status]}`),
    });
    if (code !== AgentCode.Ok) agentLog.warn(`report #${id} refused (${code === AgentCode.ResourceNotEnough ? "queue full" : `code ${code}`})`);
    reporter = platform.time.setTimer(settings.reportIntervalMs, report);
  });

  platform.onStop((done) => {
    platform.time.clearTimer(reporter);
    log.info("stopping: deregistering");
    agent.deinit(() => {
      const finish = () => {
        log.info("stopped");
        done();
      };
      if (modem) modem.stop(finish);
      else finish();
    });
  });
}

/** The engine's heap use, once after the first registration, where the platform can measure it. */
function logMemoryUse(platform: Platform, log: ReturnType<Platform["log"]["child"]>): void {
  const use = platform.memoryUse?.();
  if (!use) return;
  log.info(`memory after registration: XS slot heap ${use.slots} B, chunk heap ${use.chunks} B${use.stack === undefined ? "" : `, stack peak ${use.stack} B`}`);
}

/** A temperature-like value: a slow wave plus noise from the random source. */
function sensorValue(platform: Platform): number {
  const noise = new Uint8Array(1);
  platform.random.fill(noise);
  return 21 + 3 * Math.sin(platform.time.monotonicMs() / 60000) + (noise[0]! - 128) / 256;
}

/** LwM2M Network Bearer (/4/0/0) of each modem: GSM, NB-IoT, WLAN. */
const MODEM_BEARERS: Readonly<Record<ModemKind, number>> = Object.freeze({ sim900a: 0, bc95: 7, esp8266: 21 });

function deviceHooks(platform: Platform, log: ReturnType<Platform["log"]["child"]>, modem: ModemNet | undefined, modemKind: ModemKind | undefined, firmwareVersion: string): DeviceHooks {
  const startedAt = platform.time.monotonicMs();
  let utcOffset = "+00:00";
  let timezone = "UTC";
  const settingSerial = platform.settings.get("device.serial");
  let serial = typeof settingSerial === "string" ? settingSerial : "";
  if (!serial) {
    const bytes = new Uint8Array(4);
    platform.random.fill(bytes);
    serial = `XS-${Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("")}`;
    platform.settings.set("device.serial", serial);
  }
  return {
    getModelNumber: () => platform.name,
    getSerialNumber: () => serial,
    getFirmwareVersion: () => firmwareVersion,
    reboot: () => {
      log.warn("reboot requested by the server");
      platform.restart();
    },
    factoryReset: () => {
      log.warn("factory reset requested by the server");
      for (const key of platform.settings.keys()) platform.settings.delete(key);
      platform.restart();
    },
    getPowerSources: () => [1], // internal battery
    getSourceVoltages: () => [3700],
    getPowerCurrents: () => [42],
    getBatteryLevel: () => Math.max(5, 100 - Math.floor((platform.time.monotonicMs() - startedAt) / 60000)),
    getMemoryFree: () => Math.floor((platform.memory.stats().bytesTotal - platform.memory.stats().bytesInUse) / 1024),
    getMemoryTotal: () => Math.floor(platform.memory.stats().bytesTotal / 1024),
    getCurrentTime: () => Math.floor(platform.time.wallClockMs() / 1000),
    setCurrentTime: (seconds) => platform.time.setWallClockMs(seconds * 1000),
    getUtcOffset: () => utcOffset,
    setUtcOffset: (offset) => void (utcOffset = offset),
    getTimezone: () => timezone,
    setTimezone: (zone) => void (timezone = zone),
    getBindingModes: () => "UQ",
    getNetworkBearer: () => (modemKind ? MODEM_BEARERS[modemKind] : platform.name.indexOf("esp32") >= 0 ? 21 : 41), // WLAN or Ethernet
    getSignalStrength: () => -55,
    getLinkQuality: () => 90,
    getLinkUtilization: () => 3,
    getCellId: () => 0,
    getIpAddresses: () => [modem?.localAddress ?? "127.0.0.1"],
    getLatitude: () => 52.52,
    getLongitude: () => 13.405,
    getAltitude: () => 34,
    getSpeed: () => 0,
    getTimestamp: () => Math.floor(platform.time.wallClockMs() / 1000),
    writeAppData: (data, instanceId) => log.info(`downlink on /19/${instanceId}: "${printable(data)}"`),
    updatePsk: (identity) => log.info(`new PSK for "${identity}"`),
  };
}

/** Bytes as log text: printable ASCII as is, anything else as ".". */
function printable(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += bytes[i]! >= 0x20 && bytes[i]! < 0x7f ? String.fromCharCode(bytes[i]!) : ".";
  return text;
}


