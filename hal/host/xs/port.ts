import { FlashFirmwareStorage } from "../../common/flash-firmware-storage.js";
import { LongTimers } from "../../common/long-timer.js";
import { HalError, type HalErrorCode } from "../../errors.js";
import { isLogLevel, Logger, type LogLevel } from "../../log.js";
import { DEFAULT_MEMORY_POOLS, MemoryBudget } from "../../memory.js";
import { AsyncMutex } from "../../mutex.js";
import type { Net, SocketAddress, TcpConnection, TcpOptions, UdpEndpoint, UdpOptions } from "../../net.js";
import type { CreatePlatform, FirmwareConfig, Platform } from "../../platform.js";
import type { BlockDevice, SettingsStore, SettingValue } from "../../storage.js";
import type { Time, TimerHandle } from "../../time.js";
import { HostBridge } from "./bridge.js";

/**
 * The host port as seen from XS: every HAL call crosses the bridge to the Node
 * process, which owns the sockets, files and clocks (hal/host/node).
 */
export const createPlatform: CreatePlatform = (config: FirmwareConfig): Platform => {
  const bridge = new HostBridge();
  const time = new BridgedTime(bridge);
  const level = isLogLevel(config["log"]) ? (config["log"] as LogLevel) : "info";
  const log = new Logger({ writeLine: (line) => bridge.call("log", { line }) }, time, level);
  const stopHandlers: ((done: () => void) => void)[] = [];
  bridge.on("stop", () => {
    let pending = stopHandlers.length;
    const finished = () => {
      if (--pending <= 0) bridge.call("stopped");
    };
    if (pending === 0) bridge.call("stopped");
    for (const handler of stopHandlers) handler(finished);
  });
  const sizes = bridge.call("platform-info").header as { blockDeviceBytes: number; sectorSize: number };
  const firmware = new FlashFirmwareStorage(new BridgedBlockDevice(bridge, sizes.blockDeviceBytes, sizes.sectorSize));
  return {
    name: "host/xs",
    log,
    time,
    random: { fill: (target) => target.set(bridge.call("random", { length: target.length }).payload ?? new Uint8Array(0)) },
    net: new BridgedNet(bridge),
    memory: new MemoryBudget(DEFAULT_MEMORY_POOLS),
    settings: new BridgedSettings(bridge),
    firmware,
    createMutex: (name, maxWaiters) => new AsyncMutex(name, maxWaiters),
    onStop: (handler) => {
      stopHandlers.push(handler);
    },
    restart: () => {
      bridge.call("restart");
    },
  };
};

class BridgedTime implements Time {
  private readonly bridge: HostBridge;
  private readonly timers = new Map<number, () => void>();
  private nextId = 1;
  private readonly longTimers: LongTimers;

  constructor(bridge: HostBridge) {
    this.bridge = bridge;
    this.longTimers = new LongTimers({ arm: (delayMs, callback) => this.arm(delayMs, callback), disarm: (handle) => this.disarm(handle) });
    bridge.on("timer", (header) => {
      const id = header["id"] as number;
      const callback = this.timers.get(id);
      if (!callback) return;
      this.timers.delete(id);
      callback();
    });
  }

  monotonicMs(): number {
    return this.bridge.call("now").header["ms"] as number;
  }

  wallClockMs(): number {
    return this.bridge.call("wall-clock").header["ms"] as number;
  }

  setWallClockMs(epochMs: number): void {
    this.bridge.call("set-wall-clock", { ms: epochMs });
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.longTimers.set(delayMs, callback);
  }

  clearTimer(handle: TimerHandle | undefined): void {
    this.longTimers.clear(handle);
  }

  private arm(delayMs: number, callback: () => void): number {
    const id = this.nextId++;
    this.timers.set(id, callback);
    this.bridge.call("timer-set", { id, delayMs });
    return id;
  }

  private disarm(handle: unknown): void {
    if (typeof handle !== "number" || !this.timers.delete(handle)) return;
    this.bridge.call("timer-clear", { id: handle });
  }
}

type SocketEvents = {
  datagram?: UdpOptions["onDatagram"];
  error?: (error: HalError) => void;
  connect?: () => void;
  data?: (data: Uint8Array) => void;
  close?: (error?: HalError) => void;
};

function errorFrom(header: { readonly [key: string]: unknown }): HalError | undefined {
  const code = header["code"] as HalErrorCode | undefined;
  return code ? new HalError(code, String(header["message"] ?? code)) : undefined;
}

class BridgedNet implements Net {
  readonly maxDatagramSize: number;
  private readonly bridge: HostBridge;
  private readonly sockets = new Map<number, SocketEvents>();
  private readonly lookups = new Map<number, (error: HalError | undefined, address?: string) => void>();
  private nextId = 1;

  constructor(bridge: HostBridge) {
    this.bridge = bridge;
    this.maxDatagramSize = bridge.call("net-info").header["maxDatagramSize"] as number;
    bridge.on("udp", (header, payload) => {
      const from: SocketAddress = { address: header["address"] as string, port: header["port"] as number };
      this.sockets.get(header["id"] as number)?.datagram?.(payload ?? new Uint8Array(0), from);
    });
    bridge.on("socket-error", (header) => {
      const error = errorFrom(header);
      if (error) this.sockets.get(header["id"] as number)?.error?.(error);
    });
    bridge.on("tcp-connect", (header) => this.sockets.get(header["id"] as number)?.connect?.());
    bridge.on("tcp-data", (header, payload) => this.sockets.get(header["id"] as number)?.data?.(payload ?? new Uint8Array(0)));
    bridge.on("tcp-close", (header) => {
      const id = header["id"] as number;
      const events = this.sockets.get(id);
      this.sockets.delete(id);
      events?.close?.(errorFrom(header));
    });
    bridge.on("resolved", (header) => {
      const id = header["id"] as number;
      const callback = this.lookups.get(id);
      this.lookups.delete(id);
      callback?.(errorFrom(header), header["address"] as string | undefined);
    });
  }

  openUdp(options: UdpOptions): UdpEndpoint {
    const id = this.nextId++;
    const bridge = this.bridge;
    const reply = bridge.call("udp-open", { id, localPort: options.localPort ?? 0 });
    this.sockets.set(id, { datagram: options.onDatagram, error: options.onError });
    const localPort = reply.header["localPort"] as number;
    let closed = false;
    const sockets = this.sockets;
    return {
      localPort,
      get closed() {
        return closed;
      },
      send(data: Uint8Array, to: SocketAddress) {
        if (closed) throw new HalError("closed", "send on a closed UDP endpoint");
        bridge.call("udp-send", { id, address: to.address, port: to.port }, data);
      },
      close() {
        if (closed) return;
        closed = true;
        sockets.delete(id);
        bridge.call("udp-close", { id });
      },
    };
  }

  connectTcp(options: TcpOptions): TcpConnection {
    const id = this.nextId++;
    const bridge = this.bridge;
    let closed = false;
    this.sockets.set(id, {
      connect: options.onConnect,
      data: options.onData,
      close: (error) => {
        closed = true;
        options.onClose(error);
      },
    });
    bridge.call("tcp-connect", { id, host: options.host, port: options.port });
    const sockets = this.sockets;
    return {
      get closed() {
        return closed;
      },
      send(data: Uint8Array) {
        if (closed) throw new HalError("closed", "send on a closed TCP connection");
        bridge.call("tcp-send", { id }, data);
      },
      close() {
        if (closed) return;
        closed = true;
        sockets.delete(id);
        bridge.call("tcp-close", { id });
      },
    };
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    const id = this.nextId++;
    this.lookups.set(id, callback);
    this.bridge.call("resolve", { id, host });
  }
}

class BridgedSettings implements SettingsStore {
  private readonly bridge: HostBridge;
  constructor(bridge: HostBridge) {
    this.bridge = bridge;
  }
  get(key: string): SettingValue | undefined {
    const reply = this.bridge.call("settings-get", { key });
    if (reply.header["bytes"]) return reply.payload ?? new Uint8Array(0);
    return reply.header["value"] as SettingValue | undefined;
  }
  set(key: string, value: SettingValue): void {
    if (value instanceof Uint8Array) this.bridge.call("settings-set", { key, bytes: true }, value);
    else this.bridge.call("settings-set", { key, value });
  }
  delete(key: string): void {
    this.bridge.call("settings-delete", { key });
  }
  keys(): string[] {
    return this.bridge.call("settings-keys").header["keys"] as string[];
  }
}

class BridgedBlockDevice implements BlockDevice {
  readonly byteLength: number;
  readonly sectorSize: number;
  private readonly bridge: HostBridge;
  constructor(bridge: HostBridge, byteLength: number, sectorSize: number) {
    this.bridge = bridge;
    this.byteLength = byteLength;
    this.sectorSize = sectorSize;
  }
  read(offset: number, length: number): Uint8Array {
    return this.bridge.call("block-read", { offset, length }).payload ?? new Uint8Array(0);
  }
  write(offset: number, data: Uint8Array): void {
    this.bridge.call("block-write", { offset }, data);
  }
  eraseSector(sector: number): void {
    this.bridge.call("block-erase", { sector });
  }
}
