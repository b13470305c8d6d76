/**
 * The DTLS engine a port may offer: mbedtls through the binding in
 * modules/dtls (native.js). Sessions have no I/O of their own; the caller
 * moves datagrams and runs the retransmission timer.
 */

/** Status of a native call: >= 0 a state, < 0 an error (names in modules/dtls/status.ts). */
export type DtlsNativeStatus = number;

export interface DtlsNativeOptions {
  /** 0 client, 1 server. */
  readonly role: 0 | 1;
  /** Client: PSK identity and key (key at most 64 bytes). */
  readonly identity?: Uint8Array;
  readonly key?: Uint8Array;
  /** IANA cipher suite numbers in order of preference (at most 4); default CCM_8, then CBC_SHA256. */
  readonly suites?: readonly number[];
  /** RFC 6347 retransmission timer: initial and largest interval. */
  readonly handshakeMinMs?: number;
  readonly handshakeMaxMs?: number;
  /** Largest datagram sent. */
  readonly mtu?: number;
  /** Server: the client's address bytes, bound into HelloVerifyRequest cookies. */
  readonly peerId?: Uint8Array;
  /** Client: a session of the same peer whose resumption state to offer. */
  readonly resumeFrom?: DtlsNativeSession;
  /** Asks for a DTLS Connection ID (1) where the library supports it. */
  readonly connectionId?: 0 | 1;
}

/** Called from inside the native session's own calls, never later. */
export interface DtlsNativeCallbacks {
  /** One datagram to the peer; false when it could not be sent. */
  send(datagram: ArrayBuffer): boolean;
  /** Arms the retransmission timer (0 cancels it); on expiry call timerExpired(). */
  setTimer(delayMs: number): void;
  /** Plaintext of one record. */
  deliver(plaintext: ArrayBuffer): void;
  /** Server: the key of an identity, or undefined when unknown. */
  pskLookup?(identity: ArrayBuffer): Uint8Array | ArrayBuffer | undefined;
}

export interface DtlsNativeStats {
  readonly flightsSent: number;
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly handshakeDatagramsSent: number;
  readonly handshakeDatagramsReceived: number;
  readonly handshakeBytesSent: number;
  readonly handshakeBytesReceived: number;
  readonly retransmissions: number;
  /** mbedtls's last error code (a number, never key material). */
  readonly libraryError: number;
  /** Negotiated suite (IANA number), 0 before the handshake ends. */
  readonly suite: number;
  /** Largest plaintext one record carries now. */
  readonly maxPlaintext: number;
  readonly resumed: boolean;
  readonly connectionId: boolean;
  /** A client session holds resumption state for its next connection. */
  readonly resumable: boolean;
}

export interface DtlsNativeSession {
  start(): DtlsNativeStatus;
  /** One inbound datagram (copied at once). */
  receive(datagram: Uint8Array): DtlsNativeStatus;
  timerExpired(): DtlsNativeStatus;
  write(plaintext: Uint8Array): DtlsNativeStatus;
  /** Sends close_notify when open and frees the session's C memory; resumption state stays until forgotten. */
  close(): DtlsNativeStatus;
  forgetResume(): void;
  stats(): DtlsNativeStats;
}

export interface DtlsEngine {
  createSession(options: DtlsNativeOptions, callbacks: DtlsNativeCallbacks): DtlsNativeSession;
  /** Native sessions not yet closed or collected. */
  liveSessions(): number;
  /** Resumption states held. */
  liveResumes(): number;
  /** C heap in use (glibc hosts), -1 where unknown. */
  heapInUse(): number;
  connectionIdSupported(): boolean;
}
