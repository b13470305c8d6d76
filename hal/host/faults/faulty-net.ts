import type { HalError } from "../../errors.js";
import type { Net, SocketAddress, TcpConnection, TcpOptions, UdpEndpoint, UdpOptions } from "../../net.js";
import type { Time } from "../../time.js";
import { SeededRandom } from "./seeded-random.js";

export interface NetFaults {
  /** Probability that a datagram is dropped, 0..1. */
  readonly loss?: number;
  /** Probability that a datagram is delivered twice, 0..1. */
  readonly duplicate?: number;
  /** Probability that a datagram is held back so later ones overtake it, 0..1. */
  readonly reorder?: number;
  /** Extra delay added to every datagram, in ms, drawn from [min, max]. */
  readonly delayMs?: readonly [number, number];
  /** Extra hold time of a reordered datagram, in ms (default 50). */
  readonly reorderHoldMs?: number;
  /** Seed of the decisions; the same seed and traffic give the same faults. */
  readonly seed?: number;
  /** A targeted loss: datagrams for which this returns true are dropped (e.g. the first Update). */
  readonly drop?: (datagram: Uint8Array, direction: "send" | "receive") => boolean;
  /** Which way faults apply (default both). */
  readonly direction?: "send" | "receive" | "both";
}

export type FaultAction = "drop" | "deliver" | "duplicate" | "reorder";

export interface FaultDecision {
  readonly index: number;
  readonly direction: "send" | "receive";
  readonly action: FaultAction;
  readonly delayMs: number;
}

export interface FaultStats {
  datagrams: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
}

const MAX_DECISIONS_KEPT = 4096;

/**
 * Wraps a Net so that UDP datagrams are dropped, duplicated, delayed and
 * reordered under a seed. TCP passes through untouched (it has its own
 * recovery). Every decision is recorded (the last 4096) so tests can check
 * determinism.
 */
export class FaultyNet implements Net {
  readonly stats: FaultStats = { datagrams: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0 };
  readonly decisions: FaultDecision[] = [];
  private readonly inner: Net;
  private readonly time: Time;
  private readonly faults: NetFaults;
  private readonly random: SeededRandom;

  constructor(inner: Net, time: Time, faults: NetFaults) {
    for (const key of ["loss", "duplicate", "reorder"] as const) {
      const p = faults[key];
      if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`fault ${key} must be within 0..1, got ${p}`);
    }
    this.inner = inner;
    this.time = time;
    this.faults = faults;
    this.random = new SeededRandom(faults.seed ?? 1);
  }

  get maxDatagramSize(): number {
    return this.inner.maxDatagramSize;
  }

  openUdp(options: UdpOptions): UdpEndpoint {
    const onReceive = this.applies("receive")
      ? (data: Uint8Array, from: SocketAddress) => this.pass("receive", data, () => options.onDatagram(data.slice(), from))
      : options.onDatagram;
    const endpoint = this.inner.openUdp({ ...options, onDatagram: onReceive });
    if (!this.applies("send")) return endpoint;
    return {
      send: (data: Uint8Array, to: SocketAddress) => {
        const copy = data.slice();
        this.pass("send", copy, () => {
          if (!endpoint.closed) endpoint.send(copy, to);
        });
      },
      close: () => endpoint.close(),
      get localPort() {
        return endpoint.localPort;
      },
      get closed() {
        return endpoint.closed;
      },
    };
  }

  connectTcp(options: TcpOptions): TcpConnection {
    return this.inner.connectTcp(options);
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    this.inner.resolve(host, callback);
  }

  private applies(direction: "send" | "receive"): boolean {
    const configured = this.faults.direction ?? "both";
    return configured === "both" || configured === direction;
  }

  /** Decides the fate of one datagram and carries it out. */
  private pass(direction: "send" | "receive", datagram: Uint8Array, deliver: () => void): void {
    const index = this.stats.datagrams++;
    const faults = this.faults;
    let action: FaultAction = "deliver";
    if (faults.drop?.(datagram, direction)) action = "drop";
    else if (this.random.chance(faults.loss ?? 0)) action = "drop";
    else if (this.random.chance(faults.duplicate ?? 0)) action = "duplicate";
    else if (this.random.chance(faults.reorder ?? 0)) action = "reorder";
    const range = faults.delayMs;
    let delayMs = range ? this.random.between(range[0], range[1]) : 0;
    if (action === "reorder") delayMs += faults.reorderHoldMs ?? 50;
    this.record({ index, direction, action, delayMs });

    if (action === "drop") {
      this.stats.dropped++;
      return;
    }
    if (action === "duplicate") this.stats.duplicated++;
    if (action === "reorder") this.stats.reordered++;
    const copies = action === "duplicate" ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      if (delayMs > 0) {
        this.stats.delayed++;
        this.time.setTimer(delayMs, deliver);
      } else {
        deliver();
      }
    }
  }

  private record(decision: FaultDecision): void {
    if (this.decisions.length >= MAX_DECISIONS_KEPT) this.decisions.shift();
    this.decisions.push(decision);
  }
}
