import { peerKey, type Peer } from "../coap/message.js";
import type { AccountSecurity } from "./account-security.js";

/** Peers outside the server accounts that may hold a security at once (firmware download hosts). */
export const MAX_ALLOWED_PEERS = 4;

interface AllowedPeer {
  readonly security: AccountSecurity;
  readonly onError: ((message: string) => void) | undefined;
}

/**
 * Peers that are no server account's but are given a security for a while
 * (a coaps:// firmware download host reached over DTLS on the client's one
 * socket), until they are forgotten. At most MAX_ALLOWED_PEERS at once.
 */
export class AllowedPeers {
  private readonly peers = new Map<string, AllowedPeer>();

  get size(): number {
    return this.peers.size;
  }

  /** False when the table is full (a peer already in it is replaced). */
  allow(peer: Peer, security: AccountSecurity, onError?: (message: string) => void): boolean {
    const key = peerKey(peer);
    if (!this.peers.has(key) && this.peers.size >= MAX_ALLOWED_PEERS) return false;
    this.peers.set(key, { security, onError });
    return true;
  }

  /** Removes `peer`; returns whether it was there. */
  forget(peer: Peer): boolean {
    return this.peers.delete(peerKey(peer));
  }

  securityOf(peer: Peer): AccountSecurity | undefined {
    return this.peers.get(peerKey(peer))?.security;
  }

  /** A DTLS session with an allowed peer failed: its owner hears why. */
  failed(peer: Peer, message: string): void {
    this.peers.get(peerKey(peer))?.onError?.(message);
  }

  clear(): void {
    this.peers.clear();
  }
}
