import type { DtlsEngine } from "../../hal/dtls.js";
import type { HalError } from "../../hal/errors.js";
import type { Time } from "../../hal/time.js";
import type { Peer } from "../coap/message.js";
import type { CoapTransport } from "../coap/transport.js";
import { DtlsError } from "../dtls/errors.js";
import type { DtlsSessionState, DtlsSessionStats, DtlsSuite } from "../dtls/session.js";
import { DtlsTransport } from "../dtls/transport.js";
import type { AccountSecurity } from "./account-security.js";

/**
 * DTLS settings of the LwM2M client. The handshake timers follow RFC 6347
 * (initial 1 s doubling up to 60 s by default); NB-IoT links want more
 * (Agent Tiny used 4 s initial, 240 s largest).
 */
export interface LwM2mDtlsOptions {
  /** The platform's DTLS engine (Platform.dtls). */
  readonly engine: DtlsEngine;
  readonly handshakeMinMs?: number;
  readonly handshakeMaxMs?: number;
  /** Offered cipher suites in order of preference (default CCM_8, then CBC_SHA256). */
  readonly suites?: readonly DtlsSuite[];
}

export interface AccountTransportOptions {
  /** The one datagram socket (UDP, or a modem link) every server is reached through. */
  readonly inner: CoapTransport;
  readonly time: Time;
  /** Absent in a build without DTLS: PSK peers are then refused. */
  readonly dtls?: LwM2mDtlsOptions;
  /** How the account of `peer` says to talk to it now; undefined for a peer with no account (plain). */
  readonly securityOf: (peer: Peer) => AccountSecurity | undefined;
  /** A DTLS session with `peer` failed, or the peer closed it. */
  readonly onSecureError: (peer: Peer, error: DtlsError) => void;
}

/**
 * The LwM2M client's transport: one socket, each server reached the way its
 * Security account says. Peers in PSK mode go through a DTLS client session
 * (identity and key read from the account when the handshake starts, so a
 * bootstrap that rewrites them takes effect); NoSec peers, and peers with
 * no account, go as plain UDP.
 */
export class AccountTransport implements CoapTransport {
  private readonly options: AccountTransportOptions;
  private readonly inner: CoapTransport;
  private readonly dtls: DtlsTransport | undefined;
  private receiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  private recordReceiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  private errorHandler: ((error: HalError) => void) | undefined;
  private listening = false;
  /** After close(), records the DTLS sessions still send (a close_notify held back during a delivery) are dropped, not sent from a new socket. */
  private closed = false;

  constructor(options: AccountTransportOptions) {
    this.options = options;
    this.inner = options.inner;
    const dtls = options.dtls;
    if (!dtls) return;
    this.dtls = new DtlsTransport({
      engine: dtls.engine,
      time: options.time,
      inner: this.recordCarrier(),
      credentials: (peer) => {
        const security = options.securityOf(peer);
        return security?.mode === "psk" ? { identity: security.identity, key: security.key } : undefined;
      },
      ...(dtls.suites ? { suites: dtls.suites } : {}),
      ...(dtls.handshakeMinMs ? { handshakeMinMs: dtls.handshakeMinMs } : {}),
      ...(dtls.handshakeMaxMs ? { handshakeMaxMs: dtls.handshakeMaxMs } : {}),
      onPeerError: (peer, error) => options.onSecureError(peer, error),
    });
  }

  /** The DTLS record overhead is taken off for every peer while DTLS is configured. */
  get maxDatagramSize(): number {
    return this.dtls ? this.dtls.maxDatagramSize : this.inner.maxDatagramSize;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  get dtlsAvailable(): boolean {
    return this.dtls !== undefined;
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.receiver = onDatagram;
    this.errorHandler = onError;
    this.closed = false;
    this.ensureListening();
  }

  /** Sends plain or over DTLS as the peer's account says; throws DtlsError("bad-config") for a PSK peer in a build without DTLS. */
  send(data: Uint8Array, peer: Peer): void {
    if (!this.isSecure(peer)) return this.inner.send(data, peer);
    if (!this.dtls) throw new DtlsError("bad-config", "this build has no DTLS");
    this.dtls.send(data, peer);
  }

  /** Ends the DTLS session with `peer` (close_notify), keeping what resumes it; nothing for a plain peer. */
  closePeer(peer: Peer): void {
    this.dtls?.closePeer(peer);
  }

  /** The DTLS session state with `peer`, undefined when there is none. */
  sessionState(peer: Peer): DtlsSessionState | undefined {
    return this.dtls?.sessionState(peer);
  }

  /** Counters of the DTLS session with `peer` (the current one, else the last that connected). */
  stats(peer: Peer): DtlsSessionStats | undefined {
    return this.dtls?.stats(peer);
  }

  /** close_notify to every DTLS peer, then the socket closes. */
  close(): void {
    if (this.dtls) this.dtls.close();
    this.inner.close();
    this.listening = false;
    this.closed = true;
  }

  private isSecure(peer: Peer): boolean {
    return this.options.securityOf(peer)?.mode === "psk";
  }

  private ensureListening(): void {
    if (this.listening) return;
    this.listening = true;
    // Plaintext from DTLS peers joins the plain datagrams; the records reach the DTLS transport through its carrier.
    this.dtls?.listen((data, peer) => this.receiver?.(data, peer), (error) => this.errorHandler?.(error));
    this.inner.listen(
      (data, from) => (this.isSecure(from) ? this.recordReceiver?.(data, from) : this.receiver?.(data, from)),
      (error) => this.errorHandler?.(error),
    );
  }

  /** What the DTLS transport sees as its inner transport: the shared socket, whose records from PSK peers come here. */
  private recordCarrier(): CoapTransport {
    const inner = this.inner;
    return {
      get maxDatagramSize() {
        return inner.maxDatagramSize;
      },
      get localPort() {
        return inner.localPort;
      },
      send: (data, peer) => {
        if (!this.closed) inner.send(data, peer);
      },
      listen: (onDatagram) => {
        this.recordReceiver = onDatagram;
      },
      // The socket is the router's: it closes it once the DTLS sessions are closed.
      close: () => undefined,
    };
  }
}
