import type { HalError } from "../../../hal/errors.js";
import type { Peer } from "../../../modules/coap/message.js";
import type { CoapTransport } from "../../../modules/coap/transport.js";

/**
 * A CoAP transport that shows every datagram, both ways, to an observer
 * before passing it on unchanged: incoming ones before the endpoint handles
 * them, outgoing ones before they leave.
 */
export class CheckingTransport implements CoapTransport {
  private readonly inner: CoapTransport;
  private readonly onIncoming: (data: Uint8Array, peer: Peer) => void;
  private readonly onOutgoing: (data: Uint8Array, peer: Peer) => void;

  constructor(inner: CoapTransport, onIncoming: (data: Uint8Array, peer: Peer) => void, onOutgoing: (data: Uint8Array, peer: Peer) => void) {
    this.inner = inner;
    this.onIncoming = onIncoming;
    this.onOutgoing = onOutgoing;
  }

  get maxDatagramSize(): number {
    return this.inner.maxDatagramSize;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  send(data: Uint8Array, peer: Peer): void {
    this.onOutgoing(data, peer);
    this.inner.send(data, peer);
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.inner.listen((data, peer) => {
      this.onIncoming(data, peer);
      onDatagram(data, peer);
    }, onError);
  }

  close(): void {
    this.inner.close();
  }
}
