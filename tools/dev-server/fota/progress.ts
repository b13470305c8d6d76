/** How an image is moving: served over CoAP/CoAPS Block2 or HTTP (pull), or written with Block1 (push). */
export type FotaTransport = "coap" | "coaps" | "http" | "push";

export interface ProgressReport {
  readonly endpoint: string;
  readonly image: string;
  /** Bytes of the image transferred so far: the end of the furthest block or range served. */
  readonly bytes: number;
  readonly total: number;
  readonly transport: FotaTransport;
}

export interface ProgressLimits {
  /** A report goes out when the transfer advanced by this fraction of the image since the last (default 0.05). */
  readonly stepFraction?: number;
  /** ... or when this long has passed since the last and it advanced at all (default 1000 ms). */
  readonly intervalMs?: number;
  /** Transfers followed at once; the least recently active is forgotten first (default 64). */
  readonly maxTransfers?: number;
}

interface Transfer {
  emittedBytes: number;
  emittedAt: number;
}

/**
 * Turns every block or range served into rate-limited progress reports: the
 * first block, each further step of 5 % (or a second's worth of progress),
 * and the end, once. A transfer that goes back (a download started again
 * from 0, a Block1 upload restarted with smaller blocks) reports at once.
 */
export class ProgressTracker {
  private readonly emit: (report: ProgressReport) => void;
  private readonly now: () => number;
  private readonly stepFraction: number;
  private readonly intervalMs: number;
  private readonly maxTransfers: number;
  private readonly transfers = new Map<string, Transfer>();

  constructor(emit: (report: ProgressReport) => void, now: () => number = Date.now, limits: ProgressLimits = {}) {
    this.emit = emit;
    this.now = now;
    this.stepFraction = limits.stepFraction ?? 0.05;
    this.intervalMs = limits.intervalMs ?? 1000;
    this.maxTransfers = limits.maxTransfers ?? 64;
  }

  /** Transfers followed now. */
  get size(): number {
    return this.transfers.size;
  }

  /** A block or range of transfer `key` ends at `bytes`. */
  record(key: string, report: ProgressReport): void {
    const now = this.now();
    const { bytes, total } = report;
    let transfer = this.transfers.get(key);
    if (transfer) this.transfers.delete(key); // re-inserted below: the map's order is the order of activity
    else if (this.transfers.size >= this.maxTransfers) this.transfers.delete(this.transfers.keys().next().value!);
    const due =
      !transfer ||
      bytes < transfer.emittedBytes ||
      (bytes >= total && transfer.emittedBytes < total) ||
      bytes - transfer.emittedBytes >= this.stepFraction * total ||
      (bytes > transfer.emittedBytes && now - transfer.emittedAt >= this.intervalMs);
    transfer ??= { emittedBytes: 0, emittedAt: now };
    this.transfers.set(key, transfer);
    if (!due) return;
    transfer.emittedBytes = bytes;
    transfer.emittedAt = now;
    this.emit(report);
  }

  forget(key: string): void {
    this.transfers.delete(key);
  }
}
