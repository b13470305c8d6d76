import type { DtlsEngine } from "../../hal/dtls.js";
import type { HalError } from "../../hal/errors.js";
import type { Logger } from "../../hal/log.js";
import type { Time } from "../../hal/time.js";
import { peerKey, type Peer } from "../coap/message.js";
import type { CoapTransport } from "../coap/transport.js";
import { DtlsError, type DtlsErrorCode } from "./errors.js";
import { DtlsSession, recordPlaintextRoom, type DtlsSessionStats, type DtlsSuite } from "./session.js";

export interface DtlsServerTransportOptions {
  readonly engine: DtlsEngine;
  readonly time: Time;
  /** Carries the DTLS records (a UDP port the clients know). */
  readonly inner: CoapTransport;
  /** The key of a PSK identity (1 to 64 bytes), undefined when unknown: the handshake is refused. */
  readonly pskLookup: (identity: Uint8Array, peer: Peer) => Uint8Array | undefined;
  readonly suites?: readonly DtlsSuite[];
  readonly handshakeMinMs?: number;
  readonly handshakeMaxMs?: number;
  /** Largest datagram sent; default the inner transport's. */
  readonly mtu?: number;
  /** Open sessions kept at once; beyond, the least recently active one is closed (close_notify). */
  readonly maxSessions?: number;
  /**
   * Handshakes running at once. When full, a new ClientHello replaces the oldest handshake whose
   * client has not yet come back with a cookie (it may be spoofed); when every one has, the
   * ClientHello is dropped and the client retries. Open sessions are never evicted for handshakes.
   */
  readonly maxHandshakes?: number;
  /** An open session silent this long is closed when room is needed or on sweepIdle(); 0: never for idleness. */
  readonly idleTimeoutMs?: number;
  /** Where failures are logged (peer, identity, reason; never key material). */
  readonly log?: Logger;
  /** Sessions opening and ending, for a server's own bookkeeping. */
  readonly onSessionEvent?: (event: DtlsServerSessionEvent) => void;
}

export type DtlsServerSessionEvent =
  | { readonly type: "connected"; readonly peer: Peer; readonly identity: string; readonly resumed: boolean }
  | { readonly type: "ended"; readonly peer: Peer; readonly identity: string | undefined; readonly reason: DtlsErrorCode | "closed" | "evicted" | "replaced" };

export const DTLS_SERVER_DEFAULTS = Object.freeze({ maxSessions: 32, maxHandshakes: 8, idleTimeoutMs: 0 });

/** DTLS record header 13 bytes, handshake header 12, then ClientHello's version (2) and random (32). */
const CLIENT_HELLO_RANDOM = Object.freeze({ offset: 27, length: 32 });
const MAX_PEER_ID = 64;

interface ClientEntry {
  readonly peer: Peer;
  readonly session: DtlsSession;
  /** The ClientHello random this handshake began with: a different one is a restarted client. */
  readonly random: string;
  /** The client came back with a HelloVerifyRequest cookie (it owns its address). */
  verified: boolean;
  identity: string | undefined;
  lastActiveMs: number;
  /** Why the session ended while a datagram was being handled (set by its onError). */
  ended: DtlsErrorCode | undefined;
}

/** True for a datagram whose first record is an unencrypted (epoch 0) ClientHello. */
export function isClientHello(data: Uint8Array): boolean {
  return data.length >= 25 && data[0] === 22 && data[3] === 0 && data[4] === 0 && data[13] === 1;
}

function helloRandom(data: Uint8Array): string {
  const { offset, length } = CLIENT_HELLO_RANDOM;
  let text = "";
  for (let i = offset; i < offset + length && i < data.length; i++) text += (data[i]! < 16 ? "0" : "") + data[i]!.toString(16);
  return text;
}

/** A ClientHello carrying a cookie (the second one of a handshake): after random, session id then cookie. */
function helloHasCookie(data: Uint8Array): boolean {
  const sessionIdAt = CLIENT_HELLO_RANDOM.offset + CLIENT_HELLO_RANDOM.length;
  const cookieAt = sessionIdAt + 1 + (data[sessionIdAt] ?? 0);
  return (data[cookieAt] ?? 0) > 0;
}

function bytesOfText(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** Printable form of a PSK identity for logs (identities are not secret; keys never reach here). */
function identityText(identity: Uint8Array): string {
  let text = "";
  for (let i = 0; i < identity.length && i < 64; i++) {
    const byte = identity[i]!;
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte < 16 ? "0" : ""}${byte.toString(16)}`;
  }
  return text;
}

/**
 * CoAP over DTLS 1.2 PSK, server side: terminates DTLS for many clients on
 * one inner transport, a session per client address. A session starts only
 * with a ClientHello; the HelloVerifyRequest cookie binds it to the client's
 * address; the key comes from pskLookup by identity. Plaintext goes up with
 * the client's address as peer. Sends go to open sessions only (a server
 * cannot start DTLS); without one, send throws DtlsError "not-connected".
 */
export class DtlsServerTransport implements CoapTransport {
  private readonly options: DtlsServerTransportOptions;
  private readonly inner: CoapTransport;
  /** Map order is activity order: the first entry is the least recently active. */
  private readonly clients = new Map<string, ClientEntry>();
  private receiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  private errorHandler: ((error: HalError) => void) | undefined;
  private listening = false;
  private dropped = 0;

  constructor(options: DtlsServerTransportOptions) {
    this.options = options;
    this.inner = options.inner;
  }

  get maxDatagramSize(): number {
    return recordPlaintextRoom(this.options.mtu ?? this.inner.maxDatagramSize, this.options.suites);
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  /** Datagrams dropped because no session could take them (not a ClientHello, from an unknown client). */
  get droppedDatagrams(): number {
    return this.dropped;
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.receiver = onDatagram;
    this.errorHandler = onError;
    if (this.listening) return;
    this.listening = true;
    this.inner.listen((data, from) => this.received(data, from), (error) => this.errorHandler?.(error));
  }

  /** Encrypts one CoAP message for a client with an open session; throws DtlsError otherwise. */
  send(data: Uint8Array, peer: Peer): void {
    const entry = this.clients.get(peerKey(peer));
    if (!entry || entry.session.state !== "open") throw new DtlsError("not-connected", `no DTLS session with ${peerKey(peer)}`);
    entry.session.write(data);
  }

  /** Whether a client has an open session (its CoAP goes through this transport). */
  isOpen(peer: Peer): boolean {
    return this.clients.get(peerKey(peer))?.session.state === "open";
  }

  /** The PSK identity a client's open session was made with. */
  identityOf(peer: Peer): string | undefined {
    const entry = this.clients.get(peerKey(peer));
    return entry?.session.state === "open" ? entry.identity : undefined;
  }

  stats(peer: Peer): DtlsSessionStats | undefined {
    return this.clients.get(peerKey(peer))?.session.stats();
  }

  /** Sessions held: open ones and handshakes under way. */
  get sessionCounts(): { readonly open: number; readonly handshaking: number } {
    let open = 0;
    for (const entry of this.clients.values()) if (entry.session.state === "open") open++;
    return { open, handshaking: this.clients.size - open };
  }

  /** Closes a client's session (close_notify when open). */
  closePeer(peer: Peer): void {
    const entry = this.clients.get(peerKey(peer));
    if (entry) this.remove(entry, "closed");
  }

  /** Closes open sessions silent for longer than idleTimeoutMs (when set). */
  sweepIdle(): void {
    const limit = this.options.idleTimeoutMs ?? DTLS_SERVER_DEFAULTS.idleTimeoutMs;
    if (limit <= 0) return;
    const now = this.options.time.monotonicMs();
    for (const entry of Array.from(this.clients.values())) {
      if (entry.session.state === "open" && now - entry.lastActiveMs > limit) this.remove(entry, "evicted");
    }
  }

  /** Sends close_notify to every client with an open session, frees every session, closes the inner transport. */
  close(): void {
    for (const entry of Array.from(this.clients.values())) this.remove(entry, "closed");
    // Closed from a session's own callback, a session sends its close_notify once that call returns.
    const inner = this.inner;
    void Promise.resolve().then(() => inner.close());
    this.listening = false;
  }

  private received(data: Uint8Array, peer: Peer): void {
    const key = peerKey(peer);
    const hello = isClientHello(data);
    let entry = this.clients.get(key);
    // A ClientHello with a new random while a handshake runs: the client restarted; start over.
    if (entry && hello && entry.session.state !== "open" && helloRandom(data) !== entry.random) {
      this.remove(entry, "replaced");
      entry = undefined;
    }
    if (!entry) {
      if (!hello) {
        this.dropped++;
        return;
      }
      entry = this.admit(peer, data);
      if (!entry) return;
    }
    this.touch(key, entry);
    if (hello && helloHasCookie(data)) entry.verified = true;
    entry.session.receive(data);
    // An open session that saw a ClientHello with a valid cookie reports the client's reconnect
    // (mbedtls verified the address first): the same datagram starts its new session.
    if (entry.ended === "session-lost" && hello) {
      const fresh = this.admit(peer, data);
      if (fresh) fresh.session.receive(data);
    }
  }

  private admit(peer: Peer, hello: Uint8Array): ClientEntry | undefined {
    const key = peerKey(peer);
    const peerId = bytesOfText(key);
    if (peerId.length > MAX_PEER_ID) {
      this.dropped++;
      return undefined;
    }
    if (!this.makeRoomForHandshake()) {
      this.dropped++;
      return undefined;
    }
    const options = this.options;
    // The session's callbacks run from its own calls only, after `entry` is set below.
    let entry!: ClientEntry;
    const session = new DtlsSession(options.engine, options.time, {
      role: "server",
      peerId,
      pskLookup: (identity) => {
        entry.identity = identityText(identity);
        return options.pskLookup(identity, peer);
      },
      ...(options.suites ? { suites: options.suites } : {}),
      ...(options.handshakeMinMs ? { handshakeMinMs: options.handshakeMinMs } : {}),
      ...(options.handshakeMaxMs ? { handshakeMaxMs: options.handshakeMaxMs } : {}),
      mtu: options.mtu ?? this.inner.maxDatagramSize,
    }, {
      send: (datagram) => {
        try {
          this.inner.send(datagram, peer);
          return true;
        } catch {
          return false;
        }
      },
      onConnected: () => this.connected(entry),
      onData: (plaintext) => {
        entry.lastActiveMs = options.time.monotonicMs();
        this.receiver?.(plaintext, peer);
      },
      onError: (error) => this.failed(entry, error),
    });
    entry = { peer, session, random: helloRandom(hello), verified: false, identity: undefined, lastActiveMs: options.time.monotonicMs(), ended: undefined };
    this.clients.set(key, entry);
    session.start();
    return entry;
  }

  private connected(entry: ClientEntry): void {
    const resumed = entry.session.stats().resumed;
    this.options.log?.info(`DTLS session open with ${peerKey(entry.peer)} (identity "${entry.identity ?? ""}"${resumed ? ", resumed" : ""})`);
    this.options.onSessionEvent?.({ type: "connected", peer: entry.peer, identity: entry.identity ?? "", resumed });
    const limit = Math.max(1, this.options.maxSessions ?? DTLS_SERVER_DEFAULTS.maxSessions);
    this.sweepIdle();
    for (const other of Array.from(this.clients.values())) {
      if (this.sessionCounts.open <= limit) break;
      if (other !== entry && other.session.state === "open") this.remove(other, "evicted");
    }
  }

  private failed(entry: ClientEntry, error: DtlsError): void {
    entry.ended = error.reason;
    const key = peerKey(entry.peer);
    if (this.clients.get(key) === entry) this.clients.delete(key);
    const level = error.reason === "peer-closed" || error.reason === "session-lost" ? "info" : "warn";
    this.options.log?.write(level, `DTLS session with ${key} (identity "${entry.identity ?? "?"}") ended: ${error.message}`);
    this.options.onSessionEvent?.({ type: "ended", peer: entry.peer, identity: entry.identity, reason: error.reason });
  }

  private remove(entry: ClientEntry, reason: "closed" | "evicted" | "replaced"): void {
    const key = peerKey(entry.peer);
    if (this.clients.get(key) === entry) this.clients.delete(key);
    const wasActive = entry.session.state === "open" || entry.session.state === "handshaking";
    entry.session.close();
    if (reason !== "closed") this.options.log?.info(`DTLS session with ${key} ${reason}`);
    if (wasActive) this.options.onSessionEvent?.({ type: "ended", peer: entry.peer, identity: entry.identity, reason });
  }

  /** Makes room for one more handshake by dropping the oldest unverified one if needed; false when there is none. */
  private makeRoomForHandshake(): boolean {
    const limit = Math.max(1, this.options.maxHandshakes ?? DTLS_SERVER_DEFAULTS.maxHandshakes);
    if (this.sessionCounts.handshaking < limit) return true;
    for (const entry of this.clients.values()) {
      if (entry.session.state !== "open" && !entry.verified) {
        this.remove(entry, "evicted");
        return true;
      }
    }
    return false;
  }

  private touch(key: string, entry: ClientEntry): void {
    this.clients.delete(key);
    this.clients.set(key, entry);
  }
}
