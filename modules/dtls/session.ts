import type { DtlsEngine, DtlsNativeOptions, DtlsNativeSession, DtlsNativeStats } from "../../hal/dtls.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { DtlsError, dtlsErrorCodeOf, DtlsStatus } from "./errors.js";

/** The cipher suites offered, by IANA name and number. */
export const DTLS_SUITES = Object.freeze({
  TLS_PSK_WITH_AES_128_CCM_8: 0xc0a8,
  TLS_PSK_WITH_AES_128_CBC_SHA256: 0x00ae,
});
export type DtlsSuite = keyof typeof DTLS_SUITES;

/** Record expansion: header 13 + CCM_8 nonce 8 and tag 8; CBC: IV 16, HMAC-SHA256 32, padding up to 16. */
const RECORD_OVERHEAD: Readonly<Record<DtlsSuite, number>> = Object.freeze({ TLS_PSK_WITH_AES_128_CCM_8: 29, TLS_PSK_WITH_AES_128_CBC_SHA256: 77 });

/** The plaintext one record carries in a `datagramSize` datagram, whichever of `suites` (default: every one) is negotiated. */
export function recordPlaintextRoom(datagramSize: number, suites?: readonly DtlsSuite[]): number {
  const offered = suites ?? (Object.keys(DTLS_SUITES) as DtlsSuite[]);
  return datagramSize - Math.max(...offered.map((suite) => RECORD_OVERHEAD[suite]));
}

/**
 * RFC 6347 retransmission defaults: 1 s doubling up to 60 s, the handshake
 * given up after the 60 s interval. NB-IoT links want more (Agent Tiny used
 * 4 s to 240 s).
 */
export const DTLS_DEFAULTS = Object.freeze({ handshakeMinMs: 1000, handshakeMaxMs: 60000 });

export interface DtlsSessionOptions {
  readonly role: "client" | "server";
  /** Client: PSK identity and key (1 to 64 bytes). */
  readonly identity?: Uint8Array;
  readonly key?: Uint8Array;
  /** Server: the key of an identity, undefined when it is unknown. */
  readonly pskLookup?: (identity: Uint8Array) => Uint8Array | undefined;
  /** In order of preference; default both, CCM_8 first. */
  readonly suites?: readonly DtlsSuite[];
  readonly handshakeMinMs?: number;
  readonly handshakeMaxMs?: number;
  /** Largest datagram sent; default mbedtls's. */
  readonly mtu?: number;
  /** Server: the client's address (bound into HelloVerifyRequest cookies). */
  readonly peerId?: Uint8Array;
  /** Client: an earlier session with the same peer, whose session is offered for resumption. */
  readonly resumeFrom?: DtlsSession;
  /** Ask for a DTLS Connection ID where the library supports it (not Debian's mbedtls 2.28). */
  readonly connectionId?: boolean;
}

export interface DtlsSessionEvents {
  /** One datagram for the peer; return false when it could not be sent. */
  send(datagram: Uint8Array): boolean;
  onConnected?(): void;
  onData(plaintext: Uint8Array): void;
  /** The session failed or the peer closed it; it is closed and its C memory freed. */
  onError(error: DtlsError): void;
}

export type DtlsSessionState = "new" | "handshaking" | "open" | "closed" | "failed";

export interface DtlsSessionStats extends DtlsNativeStats {
  /** Monotonic milliseconds from start() to the end of the handshake, if it ended. */
  readonly handshakeMs: number | undefined;
}

/**
 * One DTLS 1.2 PSK session over the native binding: the caller moves the
 * datagrams (receive(), events.send) and this class runs the retransmission
 * timer on the HAL's Time. Events never fire from inside a native call
 * except send and onData, during which write() is allowed and close() is
 * carried out once the call has returned.
 */
export class DtlsSession {
  private readonly time: Time;
  private readonly events: DtlsSessionEvents;
  private readonly native: DtlsNativeSession;
  private readonly role: "client" | "server";
  private timer: TimerHandle | undefined;
  private current: DtlsSessionState = "new";
  private startedAt = 0;
  private connectedAt: number | undefined;
  private callbackError: unknown;

  constructor(engine: DtlsEngine, time: Time, options: DtlsSessionOptions, events: DtlsSessionEvents) {
    this.time = time;
    this.events = events;
    this.role = options.role;
    const nativeOptions: DtlsNativeOptions = {
      role: options.role === "server" ? 1 : 0,
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.key ? { key: options.key } : {}),
      suites: (options.suites ?? []).map((name) => DTLS_SUITES[name]),
      handshakeMinMs: options.handshakeMinMs ?? DTLS_DEFAULTS.handshakeMinMs,
      handshakeMaxMs: options.handshakeMaxMs ?? DTLS_DEFAULTS.handshakeMaxMs,
      ...(options.mtu ? { mtu: options.mtu } : {}),
      ...(options.peerId ? { peerId: options.peerId } : {}),
      ...(options.resumeFrom ? { resumeFrom: options.resumeFrom.native } : {}),
      connectionId: options.connectionId ? 1 : 0,
    };
    const lookup = options.pskLookup;
    try {
      this.native = engine.createSession(nativeOptions, {
        send: (datagram) => this.guard(() => events.send(new Uint8Array(datagram)), false),
        setTimer: (delayMs) => this.armTimer(delayMs),
        deliver: (plaintext) => this.guard(() => events.onData(new Uint8Array(plaintext)), undefined),
        ...(lookup ? { pskLookup: (identity: ArrayBuffer) => this.guard(() => lookup(new Uint8Array(identity)), undefined) } : {}),
      });
    } catch (error) {
      // The native message names the status only ("bad-config"), never the key.
      throw new DtlsError("bad-config", error instanceof Error ? error.message : undefined);
    }
  }

  get state(): DtlsSessionState {
    return this.current;
  }

  /** Client: sends the first flight. Server: waits for the ClientHello. */
  start(): void {
    if (this.current !== "new") return;
    this.current = "handshaking";
    this.startedAt = this.time.monotonicMs();
    this.settle(this.native.start());
  }

  /** One datagram from the peer. */
  receive(datagram: Uint8Array): void {
    if (this.current !== "handshaking" && this.current !== "open") return;
    this.settle(this.native.receive(datagram));
  }

  /** Sends one record; throws DtlsError "not-connected" or "too-large". */
  write(plaintext: Uint8Array): void {
    const status = this.current === "open" ? this.native.write(plaintext) : -8;
    if (status >= 0) return;
    const reason = dtlsErrorCodeOf(status);
    if (reason === "not-connected" || reason === "too-large" || reason === "send-failed") throw new DtlsError(reason);
    this.settle(status);
  }

  /** Sends close_notify if open and frees the C memory; resumption state is kept for resumeFrom. */
  close(): void {
    this.cancelTimer();
    if (this.current === "closed" || this.current === "failed") return;
    this.current = "closed";
    this.native.close();
  }

  /** Drops the resumption state this session keeps for a next connection. */
  forgetResumption(): void {
    this.native.forgetResume();
  }

  stats(): DtlsSessionStats {
    const handshakeMs = this.connectedAt === undefined ? undefined : this.connectedAt - this.startedAt;
    return { ...this.native.stats(), handshakeMs };
  }

  get isClient(): boolean {
    return this.role === "client";
  }

  private settle(status: number): void {
    const thrown = this.callbackError;
    this.callbackError = undefined;
    if (status === DtlsStatus.connected) {
      this.current = "open";
      this.connectedAt = this.time.monotonicMs();
      this.events.onConnected?.();
    } else if (status === DtlsStatus.peerClosed) {
      this.end("closed", new DtlsError("peer-closed"));
    } else if (status === DtlsStatus.closed) {
      this.cancelTimer();
      if (this.current !== "failed") this.current = "closed";
    } else if (status < 0) {
      this.end("failed", new DtlsError(dtlsErrorCodeOf(status), undefined, this.native.stats().libraryError));
    }
    if (thrown !== undefined) throw thrown;
  }

  private end(state: "closed" | "failed", error: DtlsError): void {
    this.cancelTimer();
    const wasEnded = this.current === "closed" || this.current === "failed";
    this.current = state;
    this.native.close();
    if (!wasEnded) this.events.onError(error);
  }

  private armTimer(delayMs: number): void {
    this.cancelTimer();
    if (delayMs <= 0) return;
    this.timer = this.time.setTimer(delayMs, () => {
      this.timer = undefined;
      if (this.current === "handshaking" || this.current === "open") this.settle(this.native.timerExpired());
    });
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.time.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Runs a callback from inside a native call: its exception is rethrown once the call has returned. */
  private guard<T>(body: () => T, fallback: T): T {
    try {
      return body();
    } catch (error) {
      if (this.callbackError === undefined) this.callbackError = error;
      return fallback;
    }
  }
}
