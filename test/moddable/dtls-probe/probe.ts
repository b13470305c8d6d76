/**
 * A small Moddable app for test/node/moddable-build.test.ts: the simulator's
 * DTLS handshake and a CoAP exchange, through the Moddable port's engine
 * (platform.dtls) and the same DtlsTransport the firmware uses. It GETs
 * /.well-known/core from `server=coaps://HOST:PORT` with `pskId=ID psk=HEX`
 * (coap-server-openssl -k KEY), closes (close_notify), connects again
 * offering the first session for resumption, and traces one line per step.
 */
import config from "mc/config";
import { createPlatform } from "hal/port";
import { Method } from "../../../modules/coap/constants.js";
import { CoapEndpoint } from "../../../modules/coap/endpoint.js";
import { UdpTransport } from "../../../modules/coap/transport.js";
import { DtlsTransport } from "../../../modules/dtls/transport.js";
import type { DtlsSuite } from "../../../modules/dtls/session.js";

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function textBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

export default function probe(): void {
  const platform = createPlatform(config);
  const log = platform.log.child("dtls-probe");
  const engine = platform.dtls;
  const random = new Uint8Array(8);
  platform.random.fill(random);
  log.info(`engine ${engine ? "present" : "absent"}; random ${Array.from(random, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("")}`);
  const match = /^coaps:\/\/([0-9.]+):([0-9]+)/.exec(String(config["server"] ?? ""));
  if (!engine || !match) {
    log.error(engine ? "give server=coaps://HOST:PORT" : "this build has no DTLS engine");
    return;
  }
  const peer = { address: match[1]!, port: Number(match[2]) };
  const transport = new DtlsTransport({
    engine,
    time: platform.time,
    inner: new UdpTransport(platform.net),
    credentials: () => ({ identity: textBytes(String(config["pskId"])), key: hexBytes(String(config["psk"])) }),
    suites: String(config["suites"] ?? "").split(",").filter((name) => name) as DtlsSuite[],
    handshakeMinMs: 1000,
    handshakeMaxMs: 8000,
  });
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters: { maxRetransmit: 2 } });
  const rounds = Number(config["rounds"] ?? 2);
  const run = async (): Promise<void> => {
    for (let round = 1; round <= rounds; round++) {
      try {
        const response = await endpoint.requestAsync({ peer, method: Method.GET, path: "/.well-known/core" });
        const stats = transport.stats(peer);
        log.info(`round ${round}: ${response.code >> 5}.${(response.code & 31) < 10 ? "0" : ""}${response.code & 31} (${response.payload.length} B), suite 0x${(stats?.suite ?? 0).toString(16)}, resumed ${stats?.resumed}, flights ${stats?.flightsSent}, handshake datagrams ${stats?.handshakeDatagramsSent}/${stats?.handshakeDatagramsReceived}`);
      } catch (error) {
        log.warn(`round ${round} failed: ${String(error)}`);
      }
      transport.closePeer(peer);
    }
    endpoint.close();
    log.info(`done; live sessions ${engine.liveSessions()}`);
  };
  void run();
}
