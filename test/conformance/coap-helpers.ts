import type { Net, UdpEndpoint } from "../../hal/net.js";
import type { Platform } from "../../hal/platform.js";
import { decodeMessage } from "../../modules/coap/codec.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import type { CoapMessage, Peer } from "../../modules/coap/message.js";
import type { CoapParameters } from "../../modules/coap/params.js";
import { TransportWrapper, UdpTransport } from "../../modules/coap/transport.js";
import { bound, waitFor } from "./harness.js";

/** Fast retransmission so loopback tests finish quickly. */
export const FAST: Partial<CoapParameters> = Object.freeze({ ackTimeoutMs: 40, maxRetransmit: 3, piggybackWindowMs: 30, responseTimeoutMs: 2000 });

export async function openEndpoint(platform: Platform, parameters: Partial<CoapParameters> = FAST, net: Net = platform.net): Promise<CoapEndpoint> {
  const transport = new UdpTransport(net);
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters });
  await bound(platform, transport);
  return endpoint;
}

/** A transport that records, decoded, every message it sends, so tests can check the order on the wire. */
export class RecordingTransport extends TransportWrapper {
  readonly sent: CoapMessage[] = [];

  override send(data: Uint8Array, peer: Peer): void {
    const decoded = decodeMessage(data.slice());
    if (decoded.ok) this.sent.push(decoded.message);
    super.send(data, peer);
  }
}

/** An endpoint whose sent messages are recorded in `sent`. */
export async function openRecordingEndpoint(platform: Platform, parameters: Partial<CoapParameters> = FAST): Promise<{ endpoint: CoapEndpoint; sent: CoapMessage[] }> {
  const transport = new RecordingTransport(new UdpTransport(platform.net));
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters });
  await bound(platform, transport);
  return { endpoint, sent: transport.sent };
}

export function peerOf(endpoint: { localPort: number }): Peer {
  return { address: "127.0.0.1", port: endpoint.localPort };
}

/** A raw UDP socket that records what it receives, for byte-level checks. */
export interface RawPeer {
  readonly socket: UdpEndpoint;
  readonly received: { data: Uint8Array; at: number; message: CoapMessage | undefined }[];
  send(data: Uint8Array, to: Peer): void;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openRawPeer(platform: Platform): Promise<RawPeer> {
  const received: RawPeer["received"] = [];
  const socket = platform.net.openUdp({
    onDatagram: (data) => {
      const decoded = decodeMessage(data.slice());
      received.push({ data: data.slice(), at: platform.time.monotonicMs(), message: decoded.ok ? decoded.message : undefined });
    },
  });
  await bound(platform, socket);
  return {
    socket,
    received,
    send: (data, to) => socket.send(data, to),
    waitFor: (count, timeoutMs = 2000) => waitFor(platform, () => received.length >= count, timeoutMs, `${count} datagrams`),
    close: () => socket.close(),
  };
}

export function text(value: string): Uint8Array {
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  return bytes;
}

export function asText(bytes: Uint8Array): string {
  let value = "";
  for (let i = 0; i < bytes.length; i++) value += String.fromCharCode(bytes[i]!);
  return value;
}
