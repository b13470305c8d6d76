import type { HalError } from "../../hal/errors.js";
import { Logger } from "../../hal/log.js";
import { AsyncMutex } from "../../hal/mutex.js";
import type { SocketAddress, UdpEndpoint } from "../../hal/net.js";
import { ModemNet, type ModemKind, type ModemNetEvents, type ModemSettings, type ModemState } from "../../modules/at/modem-net.js";
import { ScriptedModem } from "./at-scripted-modem.js";
import { AssertionError } from "./harness.js";
import { VirtualClock, VirtualTime } from "./virtual-platform.js";

export const SERVER: SocketAddress = Object.freeze({ address: "10.9.8.7", port: 5683 });
export const SECRETS = Object.freeze({ wifi: "pa55word", apn: "apn-secret" });

export interface Received {
  readonly data: Uint8Array;
  readonly from: SocketAddress;
}

export interface ModemRig {
  readonly clock: VirtualClock;
  readonly modem: ScriptedModem;
  readonly net: ModemNet;
  /** ModemNet's own timers (the modem's are on another VirtualTime). */
  readonly time: VirtualTime;
  readonly logLines: string[];
  readonly states: { state: ModemState; detail: string }[];
  /** Starts the modem and advances the clock until it is ready. */
  up(limitMs?: number): Promise<void>;
  until(condition: () => boolean, limitMs: number, what: string): Promise<void>;
  endpoint(): { endpoint: UdpEndpoint; received: Received[]; errors: HalError[] };
  stop(): Promise<void>;
}

/** A ModemNet on a scripted modem, both on one virtual clock; debug logging captured. */
export function modemRig(kind: ModemKind, settings: Partial<ModemSettings> = {}, events: Omit<ModemNetEvents, "onState"> = {}): ModemRig {
  const clock = new VirtualClock();
  const time = new VirtualTime(clock);
  const modem = new ScriptedModem(kind, new VirtualTime(clock));
  const logLines: string[] = [];
  const states: { state: ModemState; detail: string }[] = [];
  const log = new Logger({ writeLine: (line) => void logLines.push(line) }, time, "debug");
  const net = new ModemNet(
    { serial: modem, time, log, createMutex: (name, maxWaiters) => new AsyncMutex(name, maxWaiters) },
    { modem: kind, ssid: "lab", password: SECRETS.wifi, apnUser: "user", apnPassword: SECRETS.apn, ...settings },
    { ...events, onState: (state, detail) => void states.push({ state, detail }) },
  );
  const until = async (condition: () => boolean, limitMs: number, what: string): Promise<void> => {
    if (!(await clock.advanceUntil(condition, limitMs, 10))) throw new AssertionError(`within ${limitMs} virtual ms: ${what}`);
  };
  return {
    clock,
    modem,
    net,
    time,
    logLines,
    states,
    until,
    async up(limitMs = 10000) {
      net.start();
      await until(() => net.state === "ready", limitMs, `the ${kind} to come up (log: ${logLines.slice(-4).join(" | ")})`);
    },
    endpoint() {
      const received: Received[] = [];
      const errors: HalError[] = [];
      const endpoint = net.openUdp({ onDatagram: (data, from) => void received.push({ data, from }), onError: (error) => void errors.push(error) });
      return { endpoint, received, errors };
    },
    async stop() {
      let stopped = false;
      net.stop(() => (stopped = true));
      await until(() => stopped, 30000, "stop() to finish");
    },
  };
}
