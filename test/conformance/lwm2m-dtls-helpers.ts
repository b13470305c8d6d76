import type { DtlsEngine } from "../../hal/dtls.js";
import type { HalError } from "../../hal/errors.js";
import type { Platform } from "../../hal/platform.js";
import { peerKey, type Peer } from "../../modules/coap/message.js";
import { UdpTransport, type CoapTransport } from "../../modules/coap/transport.js";
import type { DtlsError } from "../../modules/dtls/errors.js";
import { DtlsSession, type DtlsSessionStats } from "../../modules/dtls/session.js";
import { lookupOf, text } from "./dtls-helpers.js";

/** Short handshake timers for tests: retransmissions at 100, 200, 400 ms. */
export const FAST_HANDSHAKE = Object.freeze({ handshakeMinMs: 100, handshakeMaxMs: 400 });

interface ServerPeer {
  readonly peer: Peer;
  readonly session: DtlsSession;
}

/** A DTLS record that starts a handshake: content type 22, epoch 0, handshake type 1 (ClientHello). */
function isClientHello(datagram: Uint8Array): boolean {
  return datagram.length > 13 && datagram[0] === 22 && datagram[3] === 0 && datagram[4] === 0 && datagram[13] === 1;
}

/**
 * The server side of DTLS PSK for the LwM2M tests: one UDP socket, a server
 * session per client address, CoAP plaintext in and out. A ClientHello from
 * an address whose session is open starts a new session (the client
 * reconnected). restart() forgets every session without telling the
 * clients, as a server that crashed and came back would.
 */
export class PskServerTransport implements CoapTransport {
  /** Every handshake that completed, with its counters. */
  readonly handshakes: DtlsSessionStats[] = [];
  readonly errors: DtlsError[] = [];
  private readonly platform: Platform;
  private readonly engine: DtlsEngine;
  private readonly lookup: (identity: Uint8Array) => Uint8Array | undefined;
  private readonly udp: UdpTransport;
  private readonly sessions = new Map<string, ServerPeer>();
  private receiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  private muted = false;

  constructor(platform: Platform, engine: DtlsEngine, identity: Uint8Array, key: Uint8Array) {
    this.platform = platform;
    this.engine = engine;
    this.lookup = lookupOf(identity, key);
    this.udp = new UdpTransport(platform.net);
  }

  get maxDatagramSize(): number {
    return this.udp.maxDatagramSize - 29;
  }

  get localPort(): number {
    return this.udp.localPort;
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.receiver = onDatagram;
    this.udp.listen((datagram, from) => this.receive(datagram, from), onError);
  }

  send(data: Uint8Array, peer: Peer): void {
    const entry = this.sessions.get(peerKey(peer));
    if (!entry) throw new Error(`no DTLS session with ${peerKey(peer)}`);
    entry.session.write(data);
  }

  /** Ends the session with `peer` with close_notify, as a server that drops idle sessions does. */
  closePeer(peer: Peer): void {
    const entry = this.sessions.get(peerKey(peer));
    this.sessions.delete(peerKey(peer));
    entry?.session.close();
  }

  /** Forgets every session silently (no close_notify): the clients still think theirs are open. */
  restart(): void {
    this.muted = true;
    for (const entry of this.sessions.values()) entry.session.close();
    this.muted = false;
    this.sessions.clear();
  }

  get openSessions(): number {
    return Array.from(this.sessions.values()).filter((entry) => entry.session.state === "open").length;
  }

  close(): void {
    for (const entry of this.sessions.values()) entry.session.close();
    this.sessions.clear();
    this.udp.close();
  }

  private receive(datagram: Uint8Array, from: Peer): void {
    const key = peerKey(from);
    let entry = this.sessions.get(key);
    if (entry && entry.session.state === "open" && isClientHello(datagram)) {
      entry.session.close();
      entry = undefined;
    }
    if (!entry || entry.session.state === "closed" || entry.session.state === "failed") entry = this.open(from);
    entry.session.receive(datagram);
  }

  private open(peer: Peer): ServerPeer {
    const key = peerKey(peer);
    const session: DtlsSession = new DtlsSession(this.engine, this.platform.time, { role: "server", pskLookup: this.lookup, peerId: text(key), ...FAST_HANDSHAKE }, {
      send: (datagram) => {
        if (this.muted) return true;
        this.udp.send(datagram, peer);
        return true;
      },
      onConnected: () => this.handshakes.push(session.stats()),
      onData: (plaintext) => this.receiver?.(plaintext, peer),
      onError: (error) => {
        this.errors.push(error);
        if (this.sessions.get(key)?.session === session) this.sessions.delete(key);
      },
    });
    const entry = { peer, session };
    this.sessions.set(key, entry);
    session.start();
    return entry;
  }
}

