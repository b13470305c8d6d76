import { crc32 } from "../../hal/common/crc32.js";
import { ContentFormat, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { CoapDownloader } from "../../modules/fota/coap-downloader.js";
import { FirmwareUpdateResult as Result } from "../../modules/lwm2m/objects/firmware-update.js";
import { doneInto, etagA, etagB, image, jobFor, scriptedServer, sliceOf, updater, type Updater } from "./fota-helpers.js";
import { assert, suite } from "./harness.js";
import { createVirtualPlatform, VirtualClock, VirtualNetwork, type VirtualPlatform } from "./virtual-platform.js";

const MIB = 1 << 20;

interface Rig {
  readonly clock: VirtualClock;
  readonly device: VirtualPlatform;
  readonly host: VirtualPlatform;
  readonly endpoint: CoapEndpoint;
  readonly downloader: CoapDownloader;
  /** The in-process package server, serving `body` with `etag` at /fw (4.04 elsewhere). */
  readonly server: CoapEndpoint;
  readonly state: { body: Uint8Array; etag: Uint8Array | undefined; requests: number };
  until(seen: Updater, limitMs?: number): Promise<boolean>;
  close(): void;
}

/** A device endpoint and a package server on the virtual clock and network. */
function openRig(body: Uint8Array, etag: Uint8Array | undefined = etagA()): Rig {
  const clock = new VirtualClock();
  const network = new VirtualNetwork(clock);
  const device = createVirtualPlatform("fota/device", clock, network.view(), 1, "error");
  const host = createVirtualPlatform("fota/host", clock, network.view(), 2, "error");
  const endpoint = new CoapEndpoint({ transport: new UdpTransport(device.net), time: device.time, random: device.random });
  const server = new CoapEndpoint({ transport: new UdpTransport(host.net, 5683), time: host.time, random: host.random });
  const state = { body, etag, requests: 0 };
  server.setHandler((exchange) => {
    state.requests++;
    if (exchange.request.path.join("/") !== "fw") return exchange.respond({ code: ResponseCode.NotFound });
    exchange.respond({ code: ResponseCode.Content, payload: state.body, contentFormat: ContentFormat.OctetStream, ...(state.etag ? { etag: state.etag } : {}) });
  });
  const downloader = new CoapDownloader({ endpoint, resolve: (name, callback) => device.net.resolve(name, callback) });
  return {
    clock,
    device,
    host,
    endpoint,
    server,
    downloader,
    state,
    until: (seen, limitMs = 600000) => clock.advanceUntil(() => seen.result !== undefined, limitMs, 100),
    close: () => {
      endpoint.close();
      server.close();
    },
  };
}

export default suite("FOTA CoAP downloader", (test) => {
  test("downloads a 1 MiB package in order, with onStart once (ETag, Size2, offset 0)", async () => {
    const body = image(MIB, 1);
    const rig = openRig(body);
    const seen = updater();
    try {
      assert.equal(rig.downloader.protocols, [0], "coap only: no DTLS peers given");
      rig.downloader.start(jobFor(seen, "coap://127.0.0.1/fw"), doneInto(seen));
      assert.ok(await rig.until(seen), "the download ended");
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts, [{ etag: etagA(), size: MIB, offset: 0 }]);
      assert.ok(seen.contiguous, "every block where the last one ended");
      assert.equal(seen.bytes, MIB);
      assert.equal(seen.crc, crc32(body));
      assert.equal(seen.results, 1);
    } finally {
      rig.close();
    }
  });

  test("resumes from the block holding job.offset when the ETag still matches", async () => {
    const body = image(10000, 2);
    const rig = openRig(body);
    const seen = updater();
    try {
      rig.downloader.start(jobFor(seen, "coap://127.0.0.1:5683/fw", { offset: 5000, etag: etagA(), blockSize: 1024 }), doneInto(seen));
      await rig.until(seen);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts, [{ etag: etagA(), size: 10000, offset: 4096 }], "rounded down to a block boundary; Size2 asked for");
      assert.equal(seen.offsets[0], 4096);
      assert.equal(seen.crc, crc32(body.subarray(4096)));
    } finally {
      rig.close();
    }
  });

  test("a resumed download whose ETag changed starts again from 0", async () => {
    const body = image(6000, 3);
    const rig = openRig(body, etagB());
    const seen = updater();
    try {
      rig.downloader.start(jobFor(seen, "coap://127.0.0.1/fw", { offset: 3000, etag: etagA(), blockSize: 512 }), doneInto(seen));
      await rig.until(seen);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts, [{ etag: etagB(), size: 6000, offset: 0 }], "one onStart, at 0, for the new image");
      assert.equal(seen.crc, crc32(body));
    } finally {
      rig.close();
    }
  });

  test("a server that answers a resumed request without Block2 is asked again from 0", async () => {
    const rig = openRig(image(300, 4));
    const seen = updater();
    try {
      // The package is now 300 bytes: block 1 of 1024 is answered with the whole representation.
      rig.downloader.start(jobFor(seen, "coap://127.0.0.1/fw", { offset: 1024, etag: etagA() }), doneInto(seen));
      await rig.until(seen);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts.map((start) => start.offset), [0]);
      assert.equal(seen.crc, crc32(image(300, 4)));
    } finally {
      rig.close();
    }
  });

  test("4.04 ends with InvalidUri (7) naming the code; a malformed URI is 7 too", async () => {
    const rig = openRig(image(10));
    const missing = updater();
    const malformed = updater();
    try {
      rig.downloader.start(jobFor(missing, "coap://127.0.0.1/nothing/here?x=1"), doneInto(missing));
      rig.downloader.start(jobFor(malformed, "coap://[::1/fw"), doneInto(malformed));
      assert.equal(malformed.result, undefined, "never from inside start()");
      await rig.until(missing);
      assert.equal(missing.result!.result, Result.InvalidUri);
      assert.ok(missing.result!.detail.indexOf("4.04") >= 0, missing.result!.detail);
      assert.equal(missing.starts.length, 0);
      assert.equal(malformed.result!.result, Result.InvalidUri);
    } finally {
      rig.close();
    }
  });

  test("other schemes, and coaps without DTLS, are UnsupportedProtocol (9)", async () => {
    const rig = openRig(image(10));
    try {
      for (const uri of ["http://127.0.0.1/fw", "coap+tcp://127.0.0.1/fw", "coaps://127.0.0.1/fw"]) {
        const seen = updater();
        rig.downloader.start(jobFor(seen, uri), doneInto(seen));
        await rig.clock.advance(1);
        assert.equal(seen.result?.result, Result.UnsupportedProtocol, uri);
      }
    } finally {
      rig.close();
    }
  });

  test("an unreachable host or a name that does not resolve is ConnectionLost (4)", async () => {
    const rig = openRig(image(10));
    const silent = updater();
    const unknown = updater();
    try {
      rig.downloader.start(jobFor(silent, "coap://127.0.0.1:6000/fw"), doneInto(silent));
      rig.downloader.start(jobFor(unknown, "coap://no-such-host.example/fw"), doneInto(unknown));
      await rig.until(silent);
      assert.equal(silent.result!.result, Result.ConnectionLost, silent.result!.detail);
      assert.ok(silent.result!.detail.indexOf("timeout") >= 0, silent.result!.detail);
      assert.equal(unknown.result!.result, Result.ConnectionLost);
      const named = updater();
      rig.downloader.start(jobFor(named, "coap://localhost/fw"), doneInto(named));
      await rig.until(named);
      assert.equal(named.result!.result, Result.Success, "names go through the resolver");
    } finally {
      rig.close();
    }
  });

  test("a result from onStart or onData ends the download with it", async () => {
    const rig = openRig(image(5000));
    const tooBig = updater();
    const full = updater();
    tooBig.refuseStart = Result.NotEnoughStorage;
    full.refuseAt = { offset: 2048, result: Result.OutOfMemory };
    try {
      rig.downloader.start(jobFor(tooBig, "coap://127.0.0.1/fw"), doneInto(tooBig));
      await rig.until(tooBig);
      rig.downloader.start(jobFor(full, "coap://127.0.0.1/fw"), doneInto(full));
      await rig.until(full);
      assert.equal(tooBig.result!.result, Result.NotEnoughStorage);
      assert.equal(tooBig.offsets.length, 0);
      assert.equal(full.result!.result, Result.OutOfMemory);
      assert.equal(full.offsets, [0, 1024]);
      await rig.clock.advance(10000);
      assert.equal(tooBig.results + full.results, 2, "one result each");
    } finally {
      rig.close();
    }
  });

  test("cancel() stops the download: no more data, no result, no timer left", async () => {
    const rig = openRig(image(200000));
    const seen = updater();
    try {
      const timersBefore = rig.device.time.liveTimers;
      const handle = rig.downloader.start(jobFor(seen, "coap://127.0.0.1/fw"), doneInto(seen));
      await rig.clock.advanceUntil(() => seen.offsets.length >= 5, 10000, 5);
      handle.cancel();
      const received = seen.offsets.length;
      await rig.clock.advance(300000);
      assert.equal(seen.offsets.length, received, "no data after cancel()");
      assert.equal(seen.result, undefined, "done is not called after cancel()");
      assert.equal(rig.device.time.liveTimers, timersBefore, "the exchange's timers are gone");
      assert.equal(rig.endpoint.load.exchanges, 0);
    } finally {
      rig.close();
    }
  });

  test("more than Size2, a Size2 that changes, or an end before it is IntegrityCheckFailure (5)", async () => {
    const rig = openRig(image(10));
    const body = image(3000, 5);
    const cases: [string, (num: number, szx: number) => ReturnType<typeof sliceOf>][] = [
      ["beyond", (num, szx) => sliceOf(body, num, szx, etagA(), num === 0 ? 2000 : undefined)],
      ["changed", (num, szx) => sliceOf(body, num, szx, etagA(), num === 0 ? 3000 : 2500)],
      ["short", (num, szx) => sliceOf(body, num, szx, etagA(), num === 0 ? 4000 : undefined)],
    ];
    try {
      for (const [name, answer] of cases) {
        const server = scriptedServer(rig.host.net, answer);
        const seen = updater();
        rig.downloader.start(jobFor(seen, `coap://127.0.0.1:${server.port}/fw`, { blockSize: 1024 }), doneInto(seen));
        await rig.until(seen);
        server.close();
        assert.equal(seen.result?.result, Result.IntegrityCheckFailure, `${name}: ${seen.result?.detail}`);
      }
    } finally {
      rig.close();
    }
  });

  test("a resumed download from a server that no longer sends the ETag starts again from 0; 5.03 is ConnectionLost (4)", async () => {
    const rig = openRig(image(10));
    const body = image(3000, 6);
    const noEtag = scriptedServer(rig.host.net, (num, szx) => sliceOf(body, num, szx));
    const busy = scriptedServer(rig.host.net, () => ({ code: ResponseCode.ServiceUnavailable, block2: false }));
    const seen = updater();
    const refused = updater();
    try {
      rig.downloader.start(jobFor(seen, `coap://127.0.0.1:${noEtag.port}/a/b%2Fc?v=1&w`, { offset: 2048, etag: etagA() }), doneInto(seen));
      rig.downloader.start(jobFor(refused, `coap://127.0.0.1:${busy.port}/fw`), doneInto(refused));
      await rig.until(seen);
      await rig.until(refused);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts.map((start) => start.offset), [0]);
      assert.equal(seen.crc, crc32(body));
      const first = noEtag.requests[0]!;
      const path = first.options.filter((option) => option.number === 11).map((option) => String.fromCharCode(...option.value));
      const query = first.options.filter((option) => option.number === 15).map((option) => String.fromCharCode(...option.value));
      assert.equal(path, ["a", "b/c"], "percent-decoded Uri-Path segments");
      assert.equal(query, ["v=1", "w"]);
      assert.equal(refused.result!.result, Result.ConnectionLost);
      assert.ok(refused.result!.detail.indexOf("5.03") >= 0);
    } finally {
      noEtag.close();
      busy.close();
      rig.close();
    }
  });
});
