import type { HalError } from "../../hal/errors.js";
import type { Net, UdpEndpoint } from "../../hal/net.js";
import type { Peer } from "./message.js";

/**
 * What CoAP needs from the layer below: datagrams to and from peers. UDP
 * implements it here; the DTLS transport and the AT-modem link implement the
 * same interface, so the CoAP stack runs over them unchanged.
 */
export interface CoapTransport {
  /** Largest datagram the transport carries. */
  readonly maxDatagramSize: number;
  /** Local port, 0 while unknown. */
  readonly localPort: number;
  send(data: Uint8Array, peer: Peer): void;
  /** Installs the receiver; one per transport. */
  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void;
  close(): void;
}

/** CoAP over plain UDP on the HAL net interface. */
export class UdpTransport implements CoapTransport {
  private readonly net: Net;
  private readonly port: number;
  private endpoint: UdpEndpoint | undefined;
  private receiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  private errorHandler: ((error: HalError) => void) | undefined;

  constructor(net: Net, localPort = 0) {
    this.net = net;
    this.port = localPort;
  }

  get maxDatagramSize(): number {
    return this.net.maxDatagramSize;
  }

  get localPort(): number {
    return this.endpoint?.localPort ?? 0;
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.receiver = onDatagram;
    this.errorHandler = onError;
    if (this.endpoint) return;
    this.endpoint = this.net.openUdp({
      localPort: this.port,
      onDatagram: (data, from) => this.receiver?.(data, from),
      onError: (error) => this.errorHandler?.(error),
    });
  }

  send(data: Uint8Array, peer: Peer): void {
    if (!this.endpoint) this.listen(() => undefined);
    this.endpoint!.send(data, peer);
  }

  close(): void {
    this.endpoint?.close();
    this.endpoint = undefined;
  }
}

/**
 * A transport that hands everything to another one. Subclasses override
 * what they watch or filter (queue mode's sleeping peers, recorders in
 * tests and benchmarks).
 */
export class TransportWrapper implements CoapTransport {
  protected readonly inner: CoapTransport;

  constructor(inner: CoapTransport) {
    this.inner = inner;
  }

  get maxDatagramSize(): number {
    return this.inner.maxDatagramSize;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  send(data: Uint8Array, peer: Peer): void {
    this.inner.send(data, peer);
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.inner.listen(onDatagram, onError);
  }

  close(): void {
    this.inner.close();
  }
}
