import type { HalError } from "../../hal/errors.js";
import type { Logger } from "../../hal/log.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { peerKey, type Peer } from "../coap/message.js";
import { TransportWrapper } from "../coap/transport.js";

/** Queue mode: how long without traffic before the client stops listening (MAX_TRANSMIT_WAIT, 93 s). */
export const DEFAULT_QUEUE_IDLE_MS = 93000;

/**
 * The servers the client does not listen to now. Datagrams from them are
 * dropped below CoAP, as a device with its radio off would miss them.
 */
export class SleepingPeers extends TransportWrapper {
  private readonly asleep = new Set<string>();

  sleep(peer: Peer): void {
    this.asleep.add(peerKey(peer));
  }

  wake(peer: Peer): void {
    this.asleep.delete(peerKey(peer));
  }

  override listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.inner.listen((data, peer) => {
      if (this.asleep.size === 0 || !this.asleep.has(peerKey(peer))) onDatagram(data, peer);
    }, onError);
  }

  override close(): void {
    this.asleep.clear();
    super.close();
  }
}

export interface QueueModeOptions {
  readonly time: Time;
  readonly idleMs: number;
  readonly sleeping: SleepingPeers;
  readonly log?: Logger;
  /** Whether the session's binding is UQ now (the server may change it). */
  readonly enabled: () => boolean;
  readonly peer: () => Peer | undefined;
}

/**
 * Queue mode (binding UQ) of one server session: awake after any traffic
 * with the server, asleep after `idleMs` without. While asleep nothing from
 * the server is heard; the session wakes itself before it sends.
 */
export class QueueMode {
  private readonly options: QueueModeOptions;
  private awake = false;
  private idleTimer: TimerHandle | undefined;

  constructor(options: QueueModeOptions) {
    this.options = options;
  }

  /** True unless queue mode is on and the client is asleep. */
  get listening(): boolean {
    return !this.options.enabled() || this.awake;
  }

  /** Traffic with the server: listen, and restart the idle timer. */
  activity(): void {
    if (!this.options.enabled()) return;
    const { time, sleeping } = this.options;
    const peer = this.options.peer();
    this.awake = true;
    if (peer) sleeping.wake(peer);
    time.clearTimer(this.idleTimer);
    this.idleTimer = time.setTimer(this.options.idleMs, () => {
      this.idleTimer = undefined;
      this.awake = false;
      const current = this.options.peer();
      if (current) sleeping.sleep(current);
      this.options.log?.info("queue mode: not listening until the next Update");
    });
  }

  stop(): void {
    this.options.time.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
    this.awake = false;
    const peer = this.options.peer();
    if (peer) this.options.sleeping.wake(peer);
  }
}
