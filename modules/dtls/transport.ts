import type { DtlsEngine } from "../../hal/dtls.js";
import type { HalError } from "../../hal/errors.js";
import type { Time } from "../../hal/time.js";
import { bytesEqual, peerKey, type Peer } from "../coap/message.js";
import type { CoapTransport } from "../coap/transport.js";
import { DtlsError } from "./errors.js";
import { DtlsSession, recordPlaintextRoom, type DtlsSessionState, type DtlsSessionStats, type DtlsSuite } from "./session.js";

/** A PSK identity and key (1 to 64 bytes). */
export interface PskCredentials {
  readonly identity: Uint8Array;
  readonly key: Uint8Array;
}

export interface DtlsTransportOptions {
  readonly engine: DtlsEngine;
  readonly time: Time;
  /** Carries the DTLS records (UDP, or a modem link). */
  readonly inner: CoapTransport;
  /** The credentials for a peer; undefined refuses to talk to it. */
  readonly credentials: (peer: Peer) => PskCredentials | undefined;
  readonly suites?: readonly DtlsSuite[];
  readonly handshakeMinMs?: number;
  readonly handshakeMaxMs?: number;
  /** Largest datagram on the inner transport; default its maxDatagramSize. */
  readonly mtu?: number;
  readonly connectionId?: boolean;
  /** Peers with a session at once; the least recently used one is closed beyond. */
  readonly maxPeers?: number;
  /** Datagrams held per peer while its handshake runs; more are refused (queue-full). */
  readonly maxQueuedPerPeer?: number;
  /** A session failed or its peer closed it: when given, told here with the peer instead of through listen()'s onError. */
  readonly onPeerError?: (peer: Peer, error: DtlsError) => void;
}

export const DTLS_TRANSPORT_DEFAULTS = Object.freeze({ maxPeers: 4, maxQueuedPerPeer: 4 });



interface PeerEntry {
  readonly peer: Peer;
  readonly session: DtlsSession;
  readonly queue: Uint8Array[];
}

/**
 * CoAP over DTLS 1.2 PSK, client side: one session per peer over an inner
 * transport. The first send to a peer starts the handshake and waits in a
 * small queue until it completes; a later connection to the same peer offers
 * the last session for resumption. Failures arrive as DtlsError (a HalError
 * "secure-connection") through listen()'s onError, and the peer's next send
 * starts over.
 */
export class DtlsTransport implements CoapTransport {
  private readonly options: DtlsTransportOptions;
  private readonly inner: CoapTransport;
  private readonly peers = new Map<string, PeerEntry>();
  /** The last session that connected, per peer: the next connection resumes it. */
  private readonly resumable = new Map<string, DtlsSession>();
  private receiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  private errorHandler: ((error: HalError) => void) | undefined;
  private listening = false;

  constructor(options: DtlsTransportOptions) {
    this.options = options;
    this.inner = options.inner;
  }

  get maxDatagramSize(): number {
    return recordPlaintextRoom(this.options.mtu ?? this.inner.maxDatagramSize, this.options.suites);
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.receiver = onDatagram;
    this.errorHandler = onError;
    this.ensureListening();
  }

  /** Encrypts one CoAP message for `peer`, connecting first if needed; throws DtlsError or HalError. */
  send(data: Uint8Array, peer: Peer): void {
    this.ensureListening();
    const entry = this.peers.get(peerKey(peer)) ?? this.connect(peer);
    // A first flight that could not go out has already been reported through onError.
    if (entry.session.state === "failed" || entry.session.state === "closed") return;
    this.touch(entry);
    if (entry.session.state === "open") {
      entry.session.write(data);
      return;
    }
    // A CoAP retransmission of a datagram that still waits for the handshake is not queued twice.
    if (entry.queue.some((queued) => bytesEqual(queued, data))) return;
    if (entry.queue.length >= (this.options.maxQueuedPerPeer ?? DTLS_TRANSPORT_DEFAULTS.maxQueuedPerPeer)) {
      throw new DtlsError("queue-full");
    }
    entry.queue.push(data.slice());
  }

  /** Closes the session with `peer` (close_notify), as on deregistration; resumption state stays. */
  closePeer(peer: Peer): void {
    const key = peerKey(peer);
    const entry = this.peers.get(key);
    if (!entry) return;
    this.peers.delete(key);
    entry.session.close();
  }

  /** The state of the session with `peer` now; undefined when there is none (never connected, closed or failed). */
  sessionState(peer: Peer): DtlsSessionState | undefined {
    return this.peers.get(peerKey(peer))?.session.state;
  }

  /** Counters of the session with `peer` (the current one, else the last that connected). */
  stats(peer: Peer): DtlsSessionStats | undefined {
    const key = peerKey(peer);
    return (this.peers.get(key)?.session ?? this.resumable.get(key))?.stats();
  }

  /** Sends close_notify to every peer, frees every session and closes the inner transport. */
  close(): void {
    for (const entry of this.peers.values()) entry.session.close();
    this.peers.clear();
    for (const session of this.resumable.values()) session.forgetResumption();
    this.resumable.clear();
    // Closed from a session's own callback, a session sends its close_notify once that call returns.
    const inner = this.inner;
    void Promise.resolve().then(() => inner.close());
    this.listening = false;
  }

  private ensureListening(): void {
    if (this.listening) return;
    this.listening = true;
    this.inner.listen(
      (data, from) => this.peers.get(peerKey(from))?.session.receive(data),
      (error) => this.errorHandler?.(error),
    );
  }

  private connect(peer: Peer): PeerEntry {
    const credentials = this.options.credentials(peer);
    if (!credentials) throw new DtlsError("bad-config", `no PSK credentials for ${peerKey(peer)}`);
    this.evictBeyond((this.options.maxPeers ?? DTLS_TRANSPORT_DEFAULTS.maxPeers) - 1);
    const key = peerKey(peer);
    const options = this.options;
    const queue: Uint8Array[] = [];
    const resumeFrom = this.resumable.get(key);
    const session: DtlsSession = new DtlsSession(options.engine, options.time, {
      role: "client",
      identity: credentials.identity,
      key: credentials.key,
      ...(options.suites ? { suites: options.suites } : {}),
      ...(options.handshakeMinMs ? { handshakeMinMs: options.handshakeMinMs } : {}),
      ...(options.handshakeMaxMs ? { handshakeMaxMs: options.handshakeMaxMs } : {}),
      mtu: options.mtu ?? this.inner.maxDatagramSize,
      ...(resumeFrom ? { resumeFrom } : {}),
      ...(options.connectionId ? { connectionId: true } : {}),
    }, {
      send: (datagram) => {
        try {
          this.inner.send(datagram, peer);
          return true;
        } catch {
          return false;
        }
      },
      onConnected: () => this.connected(key, session, queue),
      onData: (plaintext) => this.receiver?.(plaintext, peer),
      onError: (error) => this.failed(peer, session, error),
    });
    const entry = { peer, session, queue };
    this.peers.set(key, entry);
    session.start();
    return entry;
  }

  private connected(key: string, session: DtlsSession, queue: Uint8Array[]): void {
    const earlier = this.resumable.get(key);
    if (earlier && earlier !== session) earlier.forgetResumption();
    this.resumable.delete(key);
    this.resumable.set(key, session);
    while (this.resumable.size > (this.options.maxPeers ?? DTLS_TRANSPORT_DEFAULTS.maxPeers)) {
      const oldest = this.resumable.keys().next().value as string;
      this.resumable.get(oldest)?.forgetResumption();
      this.resumable.delete(oldest);
    }
    for (const datagram of queue.splice(0)) {
      if (session.state !== "open") break;
      try {
        session.write(datagram);
      } catch (error) {
        this.errorHandler?.(error as HalError);
      }
    }
  }

  private failed(peer: Peer, session: DtlsSession, error: DtlsError): void {
    const key = peerKey(peer);
    const entry = this.peers.get(key);
    if (entry?.session === session) {
      this.peers.delete(key);
      entry.queue.length = 0;
    }
    // A session the peer would not finish is no base for resuming.
    if (error.reason !== "peer-closed" && this.resumable.get(key) === session) {
      session.forgetResumption();
      this.resumable.delete(key);
    }
    if (this.options.onPeerError) this.options.onPeerError(peer, error);
    else this.errorHandler?.(error);
  }

  /** Map order is use order: re-inserting marks a peer as most recently used. */
  private touch(entry: PeerEntry): void {
    const key = peerKey(entry.peer);
    this.peers.delete(key);
    this.peers.set(key, entry);
  }

  private evictBeyond(limit: number): void {
    while (this.peers.size > Math.max(0, limit)) {
      const oldest = this.peers.keys().next().value as string;
      this.closePeer(this.peers.get(oldest)!.peer);
    }
  }
}
