import type { Clock } from "../../hal/time.js";

interface Entry {
  readonly createdAt: number;
  expiresAt: number;
  /** True for messages whose re-execution is harmless (idempotent requests, responses). */
  readonly evictable: boolean;
  /** The reply sent for this message (piggybacked response, empty ACK or RST), replayed for duplicates. */
  reply: Uint8Array | undefined;
}

export type RememberResult = "tracked" | "untracked" | "refused";

/**
 * Message-ID deduplication (RFC 7252 §4.5): remembers each incoming CON and
 * NON message for its lifetime and the reply it got. The table is bounded.
 * When it is full, the oldest entry is evicted if it belongs to an idempotent
 * request (RFC 7252 §4.5 lets a server re-execute those) or is older than
 * `safeAgeMs` (MAX_TRANSMIT_WAIT: the peer has stopped retransmitting it). A
 * non-idempotent request (POST, PATCH) that still finds no room is refused,
 * so it is never executed twice.
 */
export class DedupCache {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly capacity: number;

  private readonly safeAgeMs: number;

  constructor(clock: Clock, capacity: number, safeAgeMs: number) {
    this.clock = clock;
    this.capacity = capacity;
    this.safeAgeMs = safeAgeMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for a duplicate, or undefined for a new message. */
  lookup(key: string): { reply: Uint8Array | undefined } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.monotonicMs()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * Records a new message. "untracked": the table is full but the message may
   * be processed anyway (evictable); "refused": it must not be processed.
   */
  remember(key: string, lifetimeMs: number, evictable: boolean): RememberResult {
    this.evictExpired();
    const now = this.clock.monotonicMs();
    if (this.entries.size >= this.capacity) {
      for (const [candidate, entry] of this.entries) {
        if (entry.evictable || now - entry.createdAt >= this.safeAgeMs) {
          this.entries.delete(candidate);
          break;
        }
      }
    }
    if (this.entries.size >= this.capacity) return evictable ? "untracked" : "refused";
    this.entries.set(key, { createdAt: now, expiresAt: now + lifetimeMs, reply: undefined, evictable });
    return "tracked";
  }

  setReply(key: string, reply: Uint8Array): void {
    const entry = this.entries.get(key);
    if (entry) entry.reply = reply;
  }

  clear(): void {
    this.entries.clear();
  }

  private evictExpired(): void {
    const now = this.clock.monotonicMs();
    // Entries are kept in insertion order with one lifetime per kind, so expired ones are mostly at the front.
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
      else if (this.entries.size < this.capacity) break;
    }
  }
}
