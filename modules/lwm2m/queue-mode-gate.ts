import type { HalError } from "../../hal/errors.js";
import type { Peer } from "../coap/message.js";
import type { CoapTransport } from "../coap/transport.js";

/**
 * Queue mode (binding UQ): while the client "sleeps" it does not listen to
 * that server, as a device with its radio off would not. Datagrams from a
 * sleeping server are dropped below CoAP; anything the client sends to it
 * wakes the client up again (`onSend`), so answers to an Update get through.
 */
export class QueueModeGate implements CoapTransport {
  dropped = 0;
  private readonly inner: CoapTransport;
  private readonly asleep: (peer: Peer) => boolean;
  private readonly onSend: (peer: Peer) => void;

  constructor(inner: CoapTransport, asleep: (peer: Peer) => boolean, onSend: (peer: Peer) => void) {
    this.inner = inner;
    this.asleep = asleep;
    this.onSend = onSend;
  }

  get maxDatagramSize(): number {
    return this.inner.maxDatagramSize;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  send(data: Uint8Array, peer: Peer): void {
    this.onSend(peer);
    this.inner.send(data, peer);
  }

  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    this.inner.listen((data, peer) => {
      if (this.asleep(peer)) {
        this.dropped++;
        return;
      }
      onDatagram(data, peer);
    }, onError);
  }

  close(): void {
    this.inner.close();
  }
}
