import { FlashFirmwareStorage } from "../../hal/common/flash-firmware-storage.js";
import { MemoryBlockDevice } from "../../hal/common/memory-block-device.js";
import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import { HalError } from "../../hal/errors.js";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import { Logger, type LogLevel } from "../../hal/log.js";
import { DEFAULT_MEMORY_POOLS, MemoryBudget } from "../../hal/memory.js";
import { AsyncMutex } from "../../hal/mutex.js";
import type { Net, SocketAddress, TcpConnection, UdpEndpoint, UdpOptions } from "../../hal/net.js";
import type { Platform } from "../../hal/platform.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time, TimerHandle } from "../../hal/time.js";

interface ScheduledTimer {
  readonly handle: object;
  readonly at: number;
  readonly sequence: number;
  readonly owner: VirtualTime;
  readonly callback: () => void;
}

/** Lets promise continuations queued by a callback run before the next timer fires. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
}

/**
 * A clock that moves only when the test advances it. Timers fire in due
 * order, each at its own instant; days pass in milliseconds of real time.
 */
export class VirtualClock {
  nowMs = 0;
  private timers: ScheduledTimer[] = [];
  private sequence = 0;

  schedule(owner: VirtualTime, delayMs: number, callback: () => void): object {
    const handle = {};
    const timer = { handle, at: this.nowMs + Math.max(0, delayMs), sequence: this.sequence++, owner, callback };
    // Kept sorted by due time, then by order of arming.
    let index = this.timers.length;
    while (index > 0 && this.timers[index - 1]!.at > timer.at) index--;
    this.timers.splice(index, 0, timer);
    return handle;
  }

  cancel(handle: TimerHandle | undefined): void {
    const index = this.timers.findIndex((timer) => timer.handle === handle);
    if (index >= 0) this.timers.splice(index, 1);
  }

  pendingOf(owner: VirtualTime): number {
    return this.timers.reduce((count, timer) => count + (timer.owner === owner ? 1 : 0), 0);
  }

  /** Fires every timer due within `ms`, in order, letting promise work settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    await settleMicrotasks();
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.nowMs = next.at;
      next.callback();
      await settleMicrotasks();
    }
    this.nowMs = until;
  }

  /** Advances until `condition` holds, in steps of `stepMs`, for at most `limitMs`; returns whether it held. */
  async advanceUntil(condition: () => boolean, limitMs: number, stepMs = 100): Promise<boolean> {
    for (let waited = 0; waited <= limitMs; waited += stepMs) {
      if (condition()) return true;
      await this.advance(stepMs);
    }
    return condition();
  }
}

/** The Time of one party (the device, a server, the network) on a shared virtual clock; it counts its live timers. */
export class VirtualTime implements Time {
  private readonly clock: VirtualClock;
  private wallOffsetMs = 1_700_000_000_000;

  constructor(clock: VirtualClock) {
    this.clock = clock;
  }

  /** Timers set and neither fired nor cleared. */
  get liveTimers(): number {
    return this.clock.pendingOf(this);
  }
  monotonicMs(): number {
    return this.clock.nowMs;
  }
  wallClockMs(): number {
    return this.wallOffsetMs + this.clock.nowMs;
  }
  setWallClockMs(epochMs: number): void {
    this.wallOffsetMs = epochMs - this.clock.nowMs;
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.clock.schedule(this, delayMs, callback);
  }
  clearTimer(handle: TimerHandle | undefined): void {
    this.clock.cancel(handle);
  }
}

/** One datagram's trip over the in-memory network, in virtual milliseconds. */
const LINK_DELAY_MS = 5;
const FIRST_EPHEMERAL_PORT = 49152;
const MAX_DATAGRAM_BYTES = 1280;

interface VirtualSocket extends UdpEndpoint {
  readonly owner: VirtualNetView;
  deliver(data: Uint8Array, from: SocketAddress): void;
}

/** An in-memory UDP network on 127.0.0.1: datagrams reach the socket bound to the destination port after a fixed delay, or vanish. */
export class VirtualNetwork {
  private readonly sockets = new Map<number, VirtualSocket>();
  private nextPort = FIRST_EPHEMERAL_PORT;
  private readonly time: VirtualTime;

  constructor(clock: VirtualClock) {
    this.time = new VirtualTime(clock);
  }

  /** The Net of one party; it counts the sockets that party has open. */
  view(): VirtualNetView {
    return new VirtualNetView(this);
  }

  openSocketsOf(owner: VirtualNetView): number {
    let count = 0;
    for (const socket of this.sockets.values()) if (socket.owner === owner) count++;
    return count;
  }

  bind(owner: VirtualNetView, options: UdpOptions): UdpEndpoint {
    let port = options.localPort ?? 0;
    if (port === 0) while (this.sockets.has((port = this.nextPort++)));
    if (this.sockets.has(port)) throw new HalError("busy", `port ${port} is in use`);
    const network = this;
    let closed = false;
    const socket: VirtualSocket = {
      owner,
      localPort: port,
      get closed() {
        return closed;
      },
      send(data: Uint8Array, to: SocketAddress) {
        if (closed) throw new HalError("closed", "socket closed");
        if (data.length > MAX_DATAGRAM_BYTES) throw new HalError("too-large", `${data.length} bytes exceed ${MAX_DATAGRAM_BYTES}`);
        const copy = data.slice();
        network.time.setTimer(LINK_DELAY_MS, () => network.sockets.get(to.port)?.deliver(copy, { address: "127.0.0.1", port }));
      },
      close() {
        if (closed) return;
        closed = true;
        network.sockets.delete(port);
      },
      deliver(data: Uint8Array, from: SocketAddress) {
        if (!closed) options.onDatagram(data, from);
      },
    };
    this.sockets.set(port, socket);
    return socket;
  }
}

export class VirtualNetView implements Net {
  readonly maxDatagramSize = MAX_DATAGRAM_BYTES;
  private readonly network: VirtualNetwork;

  constructor(network: VirtualNetwork) {
    this.network = network;
  }

  get openSockets(): number {
    return this.network.openSocketsOf(this);
  }
  openUdp(options: UdpOptions): UdpEndpoint {
    return this.network.bind(this, options);
  }
  connectTcp(): TcpConnection {
    throw new HalError("invalid-argument", "the virtual network carries UDP only");
  }
  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    if (host === "127.0.0.1" || host === "localhost") callback(undefined, "127.0.0.1");
    else callback(new HalError("dns-failed", `unknown host ${host}`));
  }
}

class SeededRandomSource implements RandomSource {
  private readonly random: SeededRandom;
  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }
  fill(target: Uint8Array): void {
    for (let i = 0; i < target.length; i++) target[i] = this.random.nextUint32() & 0xff;
  }
}

export interface VirtualPlatform extends Platform {
  readonly time: VirtualTime;
  readonly net: Net;
  /** Every log line, for the test to inspect. */
  readonly lines: string[];
}

/** A platform for one party on the virtual clock and network: seeded randomness, in-memory settings and flash. */
export function createVirtualPlatform(name: string, clock: VirtualClock, net: Net, seed: number, level: LogLevel = "info"): VirtualPlatform {
  const time = new VirtualTime(clock);
  const lines: string[] = [];
  const stopHandlers: ((done: () => void) => void)[] = [];
  return {
    name,
    lines,
    time,
    net,
    log: new Logger({ writeLine: (line) => void lines.push(line) }, time, level),
    random: new SeededRandomSource(seed),
    memory: new MemoryBudget(DEFAULT_MEMORY_POOLS),
    settings: new MemorySettingsStore(),
    firmware: new FlashFirmwareStorage(new MemoryBlockDevice(8 * 4096, 4096)),
    createMutex: (mutexName, maxWaiters) => new AsyncMutex(mutexName, maxWaiters),
    onStop: (handler) => void stopHandlers.push(handler),
    restart: () => undefined,
  };
}
