import type { Clock } from "../../hal/time.js";

interface Entry {
  readonly peer: string;
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
 * so it is never executed twice. One peer holds at most `perPeerCapacity`
 * entries, evicted by the same rule among its own, so a single sender cannot
 * take the room every other peer needs.
 */
export class DedupCache {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly capacity: number;
  private readonly perPeerCapacity: number;
  private readonly safeAgeMs: number;
  /** Entries held per peer; a peer with none has no key. */
  private readonly perPeer = new Map<string, number>();

  constructor(clock: Clock, capacity: number, perPeerCapacity: number, safeAgeMs: number) {
    this.clock = clock;
    this.capacity = capacity;
    this.perPeerCapacity = Math.min(perPeerCapacity, capacity);
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
      this.delete(key, entry);
      return undefined;
    }
    return entry;
  }

  /**
   * Records a new message from `peer`. "untracked": no room, but the message
   * may be processed anyway (evictable); "refused": it must not be processed.
   */
  remember(key: string, peer: string, lifetimeMs: number, evictable: boolean): RememberResult {
    this.evictExpired();
    if ((this.perPeer.get(peer) ?? 0) >= this.perPeerCapacity) this.evictOne(peer);
    if (this.entries.size >= this.capacity) this.evictOne(undefined);
    if ((this.perPeer.get(peer) ?? 0) >= this.perPeerCapacity || this.entries.size >= this.capacity) return evictable ? "untracked" : "refused";
    this.entries.set(key, { peer, createdAt: this.clock.monotonicMs(), expiresAt: this.clock.monotonicMs() + lifetimeMs, reply: undefined, evictable });
    this.perPeer.set(peer, (this.perPeer.get(peer) ?? 0) + 1);
    return "tracked";
  }

  /** Drops the entry of a message refused before it ran: a retransmission is handled (and refused) afresh. */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.delete(key, entry);
  }

  setReply(key: string, reply: Uint8Array): void {
    const entry = this.entries.get(key);
    if (entry) entry.reply = reply;
  }

  clear(): void {
    this.entries.clear();
    this.perPeer.clear();
  }

  /** Evicts the oldest entry (of `peer`, or of anyone) that may go: evictable, or past the retransmission span. */
  private evictOne(peer: string | undefined): void {
    const now = this.clock.monotonicMs();
    for (const [key, entry] of this.entries) {
      if (peer !== undefined && entry.peer !== peer) continue;
      if (entry.evictable || now - entry.createdAt >= this.safeAgeMs) {
        this.delete(key, entry);
        return;
      }
    }
  }

  private delete(key: string, entry: Entry): void {
    this.entries.delete(key);
    const held = (this.perPeer.get(entry.peer) ?? 1) - 1;
    if (held > 0) this.perPeer.set(entry.peer, held);
    else this.perPeer.delete(entry.peer);
  }

  private evictExpired(): void {
    const now = this.clock.monotonicMs();
    // Entries are kept in insertion order with one lifetime per kind, so expired ones are mostly at the front.
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.delete(key, entry);
      else if (this.entries.size < this.capacity) break;
    }
  }
}
