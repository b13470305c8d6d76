// Runs inside XS for test/node/dtls-interop.test.ts: connects to a DTLS CoAP
// server with PSK, GETs /.well-known/core, closes (close_notify), connects
// again (offering the first session for resumption) and GETs again. Each step
// is reported to the Node side through the bridge.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { encodeFrame } from "../../hal/host/bridge-frame.js";
import { Method } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import type { HalError } from "../../hal/errors.js";
import type { Peer } from "../../modules/coap/message.js";
import { TransportWrapper, UdpTransport, type CoapTransport } from "../../modules/coap/transport.js";
import { isDtlsError } from "../../modules/dtls/errors.js";
import { DtlsTransport } from "../../modules/dtls/transport.js";
import type { DtlsSuite } from "../../modules/dtls/session.js";

function report(header: object): void {
  issueCommand(encodeFrame(header));
}

function bytesOf(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** Reports the transport's errors (typed DtlsError) to the Node side as they happen. */
class ErrorReporter extends TransportWrapper {
  private readonly errors: string[];
  constructor(inner: CoapTransport, errors: string[]) {
    super(inner);
    this.errors = errors;
  }
  override listen(onDatagram: (data: Uint8Array, peer: Peer) => void, onError?: (error: HalError) => void): void {
    super.listen(onDatagram, (error) => {
      this.errors.push(error.message);
      report({ op: "dtls-error", message: error.message, reason: isDtlsError(error) ? error.reason : error.code });
      onError?.(error);
    });
  }
}

const platform = createPlatform(config);

async function run(): Promise<void> {
  const engine = platform.dtls;
  if (!engine) throw new Error("this XS worker has no DTLS binding");
  const peer = { address: "127.0.0.1", port: Number(config["port"]) };
  const suites = String(config["suites"] ?? "").split(",").filter((name) => name) as DtlsSuite[];
  const errors: string[] = [];
  const transport = new DtlsTransport({
    engine,
    time: platform.time,
    inner: new UdpTransport(platform.net),
    credentials: () => ({ identity: bytesOf(String(config["identity"])), key: bytesOf(String(config["key"])) }),
    suites,
    handshakeMinMs: Number(config["handshakeMinMs"] ?? 1000),
    handshakeMaxMs: Number(config["handshakeMaxMs"] ?? 4000),
  });
  const endpoint = new CoapEndpoint({ transport: new ErrorReporter(transport, errors), time: platform.time, random: platform.random, parameters: { maxRetransmit: 1 } });
  for (let round = 1; round <= Number(config["rounds"] ?? 2); round++) {
    const started = platform.time.monotonicMs();
    try {
      const response = await endpoint.requestAsync({ peer, method: Method.GET, path: "/.well-known/core" });
      report({ op: "dtls-round", round, code: response.code, payloadLength: response.payload.length, ms: platform.time.monotonicMs() - started, stats: transport.stats(peer) });
    } catch (error) {
      report({ op: "dtls-round", round, failed: String(error), errors, stats: transport.stats(peer) });
    }
    transport.closePeer(peer);
  }
  report({ op: "dtls-live", sessions: engine.liveSessions() });
  endpoint.close();
  report({ op: "dtls-live", sessions: engine.liveSessions(), resumes: engine.liveResumes() });
}

run().then(
  () => report({ op: "dtls-done" }),
  (error: unknown) => report({ op: "dtls-done", failed: String(error) }),
);
