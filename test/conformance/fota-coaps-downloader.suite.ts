import { crc32 } from "../../hal/common/crc32.js";
import type { DtlsEngine } from "../../hal/dtls.js";
import type { Platform } from "../../hal/platform.js";
import { ContentFormat, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { DtlsServerTransport, type DtlsServerSessionEvent } from "../../modules/dtls/server-transport.js";
import { CoapDownloader } from "../../modules/fota/coap-downloader.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import { FirmwareUpdateResult as Result } from "../../modules/lwm2m/objects/firmware-update.js";
import { FAST } from "./coap-helpers.js";
import { engineOf, IDENTITY, KEY, lookupOf } from "./dtls-helpers.js";
import { doneInto, etagA, image, jobFor, updater, type Updater } from "./fota-helpers.js";
import { assert, bound, suite, waitFor } from "./harness.js";
import { FAST_HANDSHAKE } from "./lwm2m-dtls-helpers.js";

interface PackageServer {
  readonly port: number;
  readonly events: DtlsServerSessionEvent[];
  close(): void;
}

/** A coaps:// package server: our CoAP endpoint over the DTLS server transport, serving `body` at /fw. */
async function openPackageServer(platform: Platform, engine: DtlsEngine, body: Uint8Array): Promise<PackageServer> {
  const inner = new UdpTransport(platform.net);
  const events: DtlsServerSessionEvent[] = [];
  const transport = new DtlsServerTransport({ engine, time: platform.time, inner, pskLookup: lookupOf(IDENTITY, KEY), onSessionEvent: (event) => void events.push(event), ...FAST_HANDSHAKE });
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random, parameters: FAST });
  endpoint.setHandler((exchange) => exchange.respond({ code: ResponseCode.Content, payload: body, contentFormat: ContentFormat.OctetStream, etag: etagA() }));
  await bound(platform, inner);
  return { port: inner.localPort, events, close: () => endpoint.close() };
}

/** An LwM2M client that is never started: its endpoint and DTLS transport carry the download, as on the device. */
async function openClient(platform: Platform, engine: DtlsEngine): Promise<LwM2mClient> {
  const transport = new UdpTransport(platform.net);
  const client = new LwM2mClient({
    endpointName: "fota-client",
    transport,
    time: platform.time,
    random: platform.random,
    coap: FAST,
    store: createStandardStore(),
    dtls: { engine, ...FAST_HANDSHAKE },
    servers: [{ uri: "coap://127.0.0.1:9" }],
  });
  await bound(platform, transport);
  return client;
}

function finished(platform: Platform, seen: Updater): Promise<void> {
  return waitFor(platform, () => seen.result !== undefined, 15000, "the download's result");
}

export default suite("FOTA CoAP downloader over DTLS", (test) => {
  test("coaps:// from a host that is not the LwM2M server: a DTLS session for the download, closed after it", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const body = image(50000, 7);
    const server = await openPackageServer(platform, engine, body);
    const client = await openClient(platform, engine);
    const downloader = new CoapDownloader({ endpoint: client.endpoint, peers: client, psk: () => ({ identity: IDENTITY, key: KEY }) });
    const seen = updater();
    try {
      assert.equal(downloader.protocols, [0, 1]);
      downloader.start(jobFor(seen, `coaps://127.0.0.1:${server.port}/fw`), doneInto(seen));
      await finished(platform, seen);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts, [{ etag: etagA(), size: body.length, offset: 0 }]);
      assert.equal(seen.crc, crc32(body));
      await waitFor(platform, () => server.events.some((event) => event.type === "ended"), 3000, "close_notify after the download");
      assert.equal(server.events.map((event) => event.type), ["connected", "ended"]);
      const resumed = updater();
      downloader.start(jobFor(resumed, `coaps://127.0.0.1:${server.port}/fw`, { offset: 40000, etag: etagA() }), doneInto(resumed));
      await finished(platform, resumed);
      assert.equal(resumed.result!.result, Result.Success, resumed.result!.detail);
      assert.equal(resumed.starts[0]!.offset, 39936);
      assert.equal(resumed.crc, crc32(body.subarray(39936)));
    } finally {
      await new Promise<void>((resolve) => client.stop(resolve));
      server.close();
    }
  });

  test("coaps:// with a key the host does not know ends with ConnectionLost (4) from the DTLS failure", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const server = await openPackageServer(platform, engine, image(100));
    const client = await openClient(platform, engine);
    const downloader = new CoapDownloader({ endpoint: client.endpoint, peers: client, psk: () => ({ identity: IDENTITY, key: new Uint8Array(16).fill(9) }) });
    const seen = updater();
    try {
      downloader.start(jobFor(seen, `coaps://127.0.0.1:${server.port}/fw`), doneInto(seen));
      await finished(platform, seen);
      assert.equal(seen.result!.result, Result.ConnectionLost);
      assert.ok(seen.result!.detail.indexOf("DTLS") >= 0, seen.result!.detail);
      assert.equal(seen.starts.length, 0);
    } finally {
      await new Promise<void>((resolve) => client.stop(resolve));
      server.close();
    }
  });

  test("allowPeer is bounded (four peers at once)", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const client = await openClient(platform, engine);
    const psk = { mode: "psk" as const, identity: IDENTITY, key: KEY };
    try {
      const peers = [1, 2, 3, 4, 5].map((n) => ({ address: "127.0.0.1", port: 20000 + n }));
      assert.equal(peers.map((peer) => client.allowPeer(peer, psk)), [true, true, true, true, false], "four at once");
      client.forgetPeer(peers[0]!);
      assert.ok(client.allowPeer(peers[4]!, psk), "room again once one is forgotten");
      for (const peer of peers) client.forgetPeer(peer);
      assert.equal(client.serverPsk(), undefined, "a NoSec account has no PSK");
    } finally {
      await new Promise<void>((resolve) => client.stop(resolve));
    }
  });
});
