import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import { Logger } from "../../hal/log.js";
import type { Net, UdpEndpoint, UdpOptions } from "../../hal/net.js";
import type { Platform } from "../../hal/platform.js";
import type { SettingsStore } from "../../hal/storage.js";
import type { Time, TimerHandle } from "../../hal/time.js";

/**
 * A platform over the test's own that counts what the code under test holds:
 * live timers (set, minus cleared, minus fired), open UDP sockets, and the
 * log lines it wrote. Settings are its own (a fresh store unless given), so a
 * bootstrapped configuration does not leak into other tests.
 */
export interface CountingPlatform extends Platform {
  readonly liveTimers: number;
  readonly openSockets: number;
  readonly logLines: readonly string[];
}

export function countingPlatform(base: Platform, settings: SettingsStore = new MemorySettingsStore()): CountingPlatform {
  const live = new Map<TimerHandle, object>();
  let openSockets = 0;
  const logLines: string[] = [];
  const time: Time = {
    monotonicMs: () => base.time.monotonicMs(),
    wallClockMs: () => base.time.wallClockMs(),
    setWallClockMs: (epochMs) => base.time.setWallClockMs(epochMs),
    setTimer: (delayMs, callback) => {
      const entry = {};
      const handle = base.time.setTimer(delayMs, () => {
        if (live.get(handle) === entry) live.delete(handle);
        callback();
      });
      live.set(handle, entry);
      return handle;
    },
    clearTimer: (handle) => {
      base.time.clearTimer(handle);
      if (handle !== undefined) live.delete(handle);
    },
  };
  const net: Net = {
    maxDatagramSize: base.net.maxDatagramSize,
    openUdp: (options: UdpOptions): UdpEndpoint => {
      const socket = base.net.openUdp(options);
      openSockets++;
      let counted = true;
      return {
        send: (data, to) => socket.send(data, to),
        close: () => {
          if (counted) openSockets--;
          counted = false;
          socket.close();
        },
        get localPort() {
          return socket.localPort;
        },
        get closed() {
          return socket.closed;
        },
      };
    },
    connectTcp: (options) => base.net.connectTcp(options),
    resolve: (host, callback) => base.net.resolve(host, callback),
  };
  const log = new Logger({ writeLine: (line) => void logLines.push(line) }, base.time, "info");
  return {
    name: `${base.name}+counting`,
    log,
    time,
    random: base.random,
    net,
    memory: base.memory,
    settings,
    firmware: base.firmware,
    createMutex: (name, maxWaiters) => base.createMutex(name, maxWaiters),
    onStop: (handler) => base.onStop(handler),
    restart: () => base.restart(),
    get liveTimers() {
      return live.size;
    },
    get openSockets() {
      return openSockets;
    },
    logLines,
  };
}
