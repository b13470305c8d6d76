/**
 * Flood control for what the development server prints and keeps: a client
 * that notifies thousands of times a second (pmax=0 on some clients) must
 * not fill the console, the /events stream and the kept history.
 *
 * The EventLog listens to the server's "event"s and passes them on as its
 * own "event"s, except that each client's chatter (notifications, Sends,
 * Updates) goes through a token bucket: `ratePerSecond` events a second on
 * average, `burst` at once. What does not fit is dropped and counted; at
 * most once every `summaryIntervalMs` a "dropped" event per client says how
 * many were dropped since the last one and in all. Registrations,
 * deregistrations, command statuses, bootstraps, queue-mode presence and
 * firmware-update events always pass (their rates are bounded elsewhere).
 *
 * The server itself still sees every event (firmware-update jobs follow
 * notifications; queue mode follows Updates): only the log is limited.
 */
import { EventEmitter } from "node:events";
import type { Time, TimerHandle } from "../../hal/time.js";
import type { ServerEvent } from "./server.js";

export interface FloodControlOptions {
  /** Events per second per client passed on, on average; 0 turns flood control off (default 20). */
  readonly ratePerSecond?: number;
  /** Events per client passed on at once (default: twice the rate). */
  readonly burst?: number;
  /** How often a client's drops are summed up in a "dropped" event (default 1000 ms). */
  readonly summaryIntervalMs?: number;
  /** Events kept for recent() (default 500). */
  readonly historySize?: number;
  /** Clients followed at once; the least recently active is forgotten first (default 1024). */
  readonly maxClients?: number;
  /** Clock for the buckets (default: the Time's monotonic clock). */
  readonly now?: () => number;
}

export const DEFAULT_EVENT_RATE = 20;
export const DEFAULT_HISTORY_SIZE = 500;
export const MAX_FOLLOWED_CLIENTS = 1024;

/** A client's events that flood control did not pass on. */
export interface DroppedEvent {
  readonly type: "dropped";
  readonly endpoint: string;
  /** Dropped since the previous "dropped" event for this client. */
  readonly count: number;
  /** Dropped since the server started (while the client was followed). */
  readonly total: number;
  /** `count` by event type, e.g. {"notification": 4870}. */
  readonly byType: Readonly<Record<string, number>>;
}

/** Event types limited per client; every other type always passes. */
const LIMITED: ReadonlySet<string> = new Set(["notification", "send", "updated"]);

interface Bucket {
  tokens: number;
  refilledAt: number;
  pending: number;
  pendingByType: Record<string, number>;
  total: number;
}

export interface KeptEvent {
  /** When the event was passed on (ms since the Unix epoch). */
  readonly at: number;
  readonly event: ServerEvent;
}

export class EventLog extends EventEmitter {
  private readonly time: Time;
  private readonly rate: number;
  private readonly burst: number;
  private readonly summaryIntervalMs: number;
  private readonly historySize: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly history: KeptEvent[] = [];
  private summaryTimer: TimerHandle | undefined;
  private readonly listener: (event: ServerEvent) => void;
  private readonly source: EventEmitter;

  constructor(source: EventEmitter, time: Time, options: FloodControlOptions = {}) {
    super();
    this.source = source;
    this.time = time;
    this.rate = options.ratePerSecond ?? DEFAULT_EVENT_RATE;
    if (!(this.rate >= 0 && Number.isFinite(this.rate))) throw new RangeError(`the event rate must be 0 (no limit) or more, got ${this.rate}`);
    this.burst = Math.max(1, options.burst ?? 2 * this.rate);
    this.summaryIntervalMs = options.summaryIntervalMs ?? 1000;
    this.historySize = options.historySize ?? DEFAULT_HISTORY_SIZE;
    this.maxClients = options.maxClients ?? MAX_FOLLOWED_CLIENTS;
    this.now = options.now ?? (() => time.monotonicMs());
    this.listener = (event) => this.offer(event);
    source.on("event", this.listener);
  }

  /** Events per second per client passed on (0: no limit). */
  get ratePerSecond(): number {
    return this.rate;
  }

  /** The last events passed on (and "dropped" summaries), oldest first; at most `limit`. */
  recent(limit = this.historySize): KeptEvent[] {
    return this.history.slice(Math.max(0, this.history.length - limit));
  }

  /** Events dropped per client since the start (clients with none are left out). */
  droppedCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [endpoint, bucket] of this.buckets) if (bucket.total > 0) counts[endpoint] = bucket.total;
    return counts;
  }

  /** Emits the "dropped" summaries due now (the timer does this every summaryIntervalMs while clients flood). */
  flush(): void {
    this.time.clearTimer(this.summaryTimer);
    this.summaryTimer = undefined;
    for (const [endpoint, bucket] of this.buckets) {
      if (bucket.pending === 0) continue;
      const summary: DroppedEvent = { type: "dropped", endpoint, count: bucket.pending, total: bucket.total, byType: bucket.pendingByType };
      bucket.pending = 0;
      bucket.pendingByType = {};
      this.pass(summary as ServerEvent);
    }
  }

  close(): void {
    this.source.off("event", this.listener);
    this.time.clearTimer(this.summaryTimer);
    this.summaryTimer = undefined;
  }

  private offer(event: ServerEvent): void {
    if (this.rate === 0 || !LIMITED.has(event.type) || !("endpoint" in event)) return this.pass(event);
    const bucket = this.bucket(event.endpoint);
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.refilledAt) * this.rate) / 1000);
    bucket.refilledAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return this.pass(event);
    }
    bucket.pending++;
    bucket.total++;
    bucket.pendingByType[event.type] = (bucket.pendingByType[event.type] ?? 0) + 1;
    this.summaryTimer ??= this.time.setTimer(this.summaryIntervalMs, () => {
      this.summaryTimer = undefined;
      this.flush();
    });
  }

  private bucket(endpoint: string): Bucket {
    let bucket = this.buckets.get(endpoint);
    if (bucket) {
      // Re-inserted: the map's order is the order of activity.
      this.buckets.delete(endpoint);
    } else {
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, refilledAt: this.now(), pending: 0, pendingByType: {}, total: 0 };
    }
    this.buckets.set(endpoint, bucket);
    return bucket;
  }

  private pass(event: ServerEvent): void {
    this.history.push({ at: this.time.wallClockMs(), event });
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    this.emit("event", event);
  }
}
