import type { DtlsEngine } from "../../hal/dtls.js";
import type { HalError } from "../../hal/errors.js";
import { requireNodeDtlsEngine } from "../../hal/host/node/dtls/node-dtls.js";
import type { Platform } from "../../hal/platform.js";
import type { Peer } from "../../modules/coap/message.js";
import { UdpTransport, type CoapTransport } from "../../modules/coap/transport.js";
import { DtlsServerTransport, type DtlsServerSessionEvent } from "../../modules/dtls/server-transport.js";

/** The development server's coaps:// endpoint. Keys never reach a log line or the HTTP API. */
export interface DevServerDtlsOptions {
  /** UDP port for DTLS (0 picks one; the usual is 5684). */
  readonly port: number;
  /** PSK identity (text) → key (1 to 64 bytes). */
  readonly psk: ReadonlyMap<string, Uint8Array>;
  /** Default: the platform's engine, else the Node addon (an error names what is missing). */
  readonly engine?: DtlsEngine;
  readonly maxSessions?: number;
  readonly onSessionEvent?: (event: DtlsServerSessionEvent) => void;
}

function identityKey(identity: Uint8Array): string {
  let text = "";
  for (const byte of identity) text += String.fromCharCode(byte);
  return text;
}

/** A PSK table entry from "IDENTITY:HEX" (the identity may hold ":"; the key is after the last one). */
export function parsePskSpec(spec: string): { identity: string; key: Uint8Array } {
  const colon = spec.lastIndexOf(":");
  const identity = colon > 0 ? spec.slice(0, colon) : "";
  const hex = colon > 0 ? spec.slice(colon + 1) : "";
  if (!identity || identity.length > 128 || !/^([0-9a-fA-F]{2}){1,64}$/.test(hex)) {
    // The text may hold a key: it is not repeated.
    throw new Error("--psk needs IDENTITY:HEX (identity 1..128 characters, key 1..64 bytes as hex pairs)");
  }
  return { identity, key: Uint8Array.from(hex.match(/../g)!.map((pair) => parseInt(pair, 16))) };
}

/**
 * Plain UDP and DTLS side by side under one CoAP endpoint: the same handlers
 * and strict checks serve both. A send goes through DTLS when the peer has an
 * open DTLS session, else over plain UDP.
 */
export class DualTransport implements CoapTransport {
  readonly dtls: DtlsServerTransport;
  private readonly udp: CoapTransport;

  constructor(platform: Platform, udpPort: number, options: DevServerDtlsOptions) {
    this.udp = new UdpTransport(platform.net, udpPort);
    const engine = options.engine ?? platform.dtls ?? requireNodeDtlsEngine();
    const table = new Map(options.psk);
    this.dtls = new DtlsServerTransport({
      engine,
      time: platform.time,
      inner: new UdpTransport(platform.net, options.port),
      pskLookup: (identity) => table.get(identityKey(identity)),
      log: platform.log.child("dtls"),
      ...(options.maxSessions ? { maxSessions: options.maxSessions } : {}),
      ...(options.onSessionEvent ? { onSessionEvent: options.onSessionEvent } : {}),
    });
  }

  get maxDatagramSize(): number {
    return Math.min(this.udp.maxDatagramSize, this.dtls.maxDatagramSize);
  }

  get localPort(): number {
    return this.udp.localPort;
  }

  get dtlsPort(): number {
    return this.dtls.localPort;
  }

  isSecure(peer: Peer): boolean {
    return this.dtls.isOpen(peer);
  }

  send(data: Uint8Array, peer: Peer): void {
    if (this.dtls.isOpen(peer)) this.dtls.send(data, peer);
    else this.udp.send(data, peer);
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.udp.listen(onDatagram, onError);
    this.dtls.listen(onDatagram, onError);
  }

  close(): void {
    this.dtls.close();
    this.udp.close();
  }
}
