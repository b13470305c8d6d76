import type { SocketAddress } from "../../hal/net.js";

export interface QueuedDatagram {
  readonly data: Uint8Array;
  readonly remote: SocketAddress | undefined;
}

export const LINK_QUEUE_DEFAULTS = Object.freeze({ depth: 4 });

/** The receive queue of one link: bounded, and an overflow drops the oldest datagram (counted). */
export class LinkQueue {
  private readonly items: QueuedDatagram[] = [];
  private readonly depth: number;
  private droppedCount = 0;

  constructor(depth: number = LINK_QUEUE_DEFAULTS.depth) {
    this.depth = Math.max(1, depth);
  }

  get length(): number {
    return this.items.length;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  push(data: Uint8Array, remote: SocketAddress | undefined): void {
    if (this.items.length >= this.depth) {
      this.items.shift();
      this.droppedCount++;
    }
    this.items.push({ data, remote });
  }

  shift(): QueuedDatagram | undefined {
    return this.items.shift();
  }

  clear(): void {
    this.items.length = 0;
  }
}
