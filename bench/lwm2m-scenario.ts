import type { Platform } from "../hal/platform.js";
import { ContentFormat, Method, ResponseCode } from "../modules/coap/constants.js";
import { CoapEndpoint } from "../modules/coap/endpoint.js";
import type { Peer } from "../modules/coap/message.js";
import { TransportWrapper, UdpTransport, type CoapTransport } from "../modules/coap/transport.js";
import { createStandardStore, LwM2mClient } from "../modules/lwm2m/client.js";

/** Records every datagram a transport sends. */
export class TapTransport extends TransportWrapper {
  readonly sent: Uint8Array[] = [];

  override send(data: Uint8Array, peer: Peer): void {
    this.sent.push(data.slice());
    super.send(data, peer);
  }
}

/** A server endpoint that accepts registrations (benchmarks only). */
export function openBenchServer(platform: Platform): CoapEndpoint {
  const server = new CoapEndpoint({ transport: new UdpTransport(platform.net), time: platform.time, random: platform.random });
  server.setHandler((exchange) => {
    const { method, path } = exchange.request;
    if (method === Method.POST && path.length === 1) return exchange.respond({ code: ResponseCode.Created, locationPath: ["rd", "1"] });
    if (method === Method.POST) return exchange.respond({ code: ResponseCode.Changed });
    exchange.respond({ code: ResponseCode.Deleted });
  });
  return server;
}

/** The client with every standard object and a populated Device instance. */
export function createBenchClient(platform: Platform, transport: CoapTransport, serverPort: number): LwM2mClient {
  const store = createStandardStore();
  const device = store.get(3)!.createInstance(0);
  device.set(0, "Moddable Example");
  device.set(1, "XS-1");
  device.set(2, "SN-0001");
  device.set(3, "0.1.0");
  device.set(9, 87);
  device.set(10, 120);
  device.set(11, new Map([[0, 0]]));
  device.set(16, "UQ");
  device.set(17, "sensor");
  store.get(4)!.createInstance(0).set(0, 0);
  store.get(5)!.createInstance(0).set(3, 0);
  store.get(19)!.createInstance(0).set(0, new Map([[0, new Uint8Array(16)]]));
  return new LwM2mClient({ endpointName: "xs-bench-device-0001", transport, time: platform.time, random: platform.random, servers: [{ uri: `coap://127.0.0.1:${serverPort}`, lifetime: 86400 }], store });
}

export const READ_FORMATS = Object.freeze([
  ["read-3-0-tlv", ContentFormat.LwM2mTlv],
  ["read-3-0-senml-cbor", ContentFormat.SenmlCbor],
  ["read-3-0-senml-json", ContentFormat.SenmlJson],
] as const);
