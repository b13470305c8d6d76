import { crc32 } from "../../hal/common/crc32.js";
import type { Platform } from "../../hal/platform.js";
import { utf8Encode } from "../../modules/coap/message.js";
import { HttpDownloader } from "../../modules/fota/http-downloader.js";
import { FirmwareUpdateResult as Result } from "../../modules/lwm2m/objects/firmware-update.js";
import { FakeHttp, type FakeResource } from "./fake-http.js";
import { doneInto, image, jobFor, updater, type Updater } from "./fota-helpers.js";
import { assert, sleep, suite, waitFor } from "./harness.js";

const PACKAGE_URL = "http://firmware.example/fw.bin";
const V1 = '"v1"';

function rig(platform: Platform, resource?: FakeResource) {
  const http = new FakeHttp(platform.time);
  if (resource) http.resources.set(PACKAGE_URL, resource);
  return { http, downloader: new HttpDownloader({ http }) };
}

function finished(platform: Platform, seen: Updater): Promise<void> {
  return waitFor(platform, () => seen.result !== undefined, 5000, "the download's result");
}

export default suite("FOTA HTTP downloader", (test) => {
  test("downloads the body with onStart once (entity tag as UTF-8, Content-Length, offset 0)", async ({ platform }) => {
    const body = image(50000, 1);
    const { http, downloader } = rig(platform, { body, etag: V1 });
    const seen = updater();
    assert.equal(downloader.protocols, [2]);
    downloader.start(jobFor(seen, PACKAGE_URL), doneInto(seen));
    await finished(platform, seen);
    assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
    assert.equal(seen.starts, [{ etag: utf8Encode(V1), size: 50000, offset: 0 }]);
    assert.ok(seen.contiguous);
    assert.equal(seen.crc, crc32(body));
    assert.equal(http.requests.map((request) => [request.offset, request.etag]), [[undefined, undefined]]);
    assert.equal(http.liveTimers, 0);
  });

  test("resumes with Range and If-Range: 206 from the job's offset", async ({ platform }) => {
    const body = image(50000, 2);
    const { http, downloader } = rig(platform, { body, etag: V1 });
    const seen = updater();
    downloader.start(jobFor(seen, PACKAGE_URL, { offset: 12345, etag: utf8Encode(V1) }), doneInto(seen));
    await finished(platform, seen);
    assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
    assert.equal(http.requests.map((request) => [request.offset, request.etag]), [[12345, V1]]);
    assert.equal(seen.starts, [{ etag: utf8Encode(V1), size: 50000, offset: 12345 }]);
    assert.equal(seen.crc, crc32(body.subarray(12345)));
  });

  test("200 instead of 206 (another entity, or no range support) starts over from 0 in the same response", async ({ platform }) => {
    for (const resource of [{ body: image(20000, 3), etag: '"v2"' }, { body: image(20000, 3), etag: V1, ignoresRange: true }]) {
      const { http, downloader } = rig(platform, resource);
      const seen = updater();
      downloader.start(jobFor(seen, PACKAGE_URL, { offset: 8000, etag: utf8Encode(V1) }), doneInto(seen));
      await finished(platform, seen);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(seen.starts.map((start) => start.offset), [0]);
      assert.equal(seen.crc, crc32(resource.body));
      assert.equal(http.requests.length, 1);
    }
  });

  test("416 (now shorter than the offset) or a 206 of another entity asks again from 0", async ({ platform }) => {
    for (const resource of [{ body: image(3000, 4), etag: V1 }, { body: image(30000, 4), etag: '"v3"', rangeEtag: '"v3"' }]) {
      const { http, downloader } = rig(platform, resource);
      const seen = updater();
      downloader.start(jobFor(seen, PACKAGE_URL, { offset: 8000, etag: utf8Encode(V1) }), doneInto(seen));
      await finished(platform, seen);
      assert.equal(seen.result!.result, Result.Success, seen.result!.detail);
      assert.equal(http.requests.map((request) => request.offset), [8000, undefined]);
      assert.equal(seen.crc, crc32(resource.body));
      assert.equal(seen.starts.map((start) => start.offset), [0], "the refused 206 never reached the updater");
    }
  });

  test("404 is InvalidUri (7), 503 ConnectionLost (4), https and other schemes UnsupportedProtocol (9), a malformed URI 7", async ({ platform }) => {
    const { http, downloader } = rig(platform);
    http.resources.set("http://h/busy", { body: image(1), status: 503 });
    const cases: [string, number][] = [
      ["http://h/missing", Result.InvalidUri],
      ["http://h/busy", Result.ConnectionLost],
      ["https://h/fw", Result.UnsupportedProtocol],
      ["coap://h/fw", Result.UnsupportedProtocol],
      ["http//h/fw", Result.InvalidUri],
      ["http://user@h/fw", Result.InvalidUri],
    ];
    for (const [uri, expected] of cases) {
      const seen = updater();
      downloader.start(jobFor(seen, uri), doneInto(seen));
      await finished(platform, seen);
      assert.equal(seen.result!.result, expected, `${uri}: ${seen.result!.detail}`);
      assert.equal(seen.starts.length, 0);
    }
    assert.ok(http.requests.every((request) => request.aborted || request.ended === 1));
    assert.equal(http.requests.length, 2, "only the well-formed http:// URIs were asked for");
  });

  test("a network error mid-body or a body that ends short is ConnectionLost (4); more than Content-Length is IntegrityCheckFailure (5)", async ({ platform }) => {
    const cases: [FakeResource, number][] = [
      [{ body: image(20000), failAfter: 9000 }, Result.ConnectionLost],
      [{ body: image(20000), announcedLength: 25000 }, Result.ConnectionLost],
      [{ body: image(20000), announcedLength: 10000 }, Result.IntegrityCheckFailure],
    ];
    for (const [resource, expected] of cases) {
      const { downloader } = rig(platform, resource);
      const seen = updater();
      downloader.start(jobFor(seen, PACKAGE_URL), doneInto(seen));
      await finished(platform, seen);
      assert.equal(seen.result!.result, expected, seen.result!.detail);
    }
  });

  test("a result from onStart or onData ends the download with it and aborts the request", async ({ platform }) => {
    const { http, downloader } = rig(platform, { body: image(30000), etag: V1 });
    const tooBig = updater();
    const full = updater();
    tooBig.refuseStart = Result.NotEnoughStorage;
    full.refuseAt = { offset: 8192, result: Result.OutOfMemory };
    downloader.start(jobFor(tooBig, PACKAGE_URL), doneInto(tooBig));
    downloader.start(jobFor(full, PACKAGE_URL), doneInto(full));
    await finished(platform, tooBig);
    await finished(platform, full);
    assert.equal(tooBig.result!.result, Result.NotEnoughStorage);
    assert.equal(full.result!.result, Result.OutOfMemory);
    assert.equal(full.offsets, [0, 4096]);
    assert.equal(http.requests.map((request) => request.aborted), [true, true]);
    await sleep(platform, 20);
    assert.equal(tooBig.results + full.results, 2);
    assert.equal(http.liveTimers, 0);
  });

  test("cancel() cancels the request: no more data, no result", async ({ platform }) => {
    const { http, downloader } = rig(platform, { body: image(200000), etag: V1 });
    const seen = updater();
    const handle = downloader.start(jobFor(seen, PACKAGE_URL), doneInto(seen));
    await waitFor(platform, () => seen.offsets.length >= 3, 5000, "some data");
    handle.cancel();
    const received = seen.offsets.length;
    await sleep(platform, 30);
    assert.equal(seen.offsets.length, received);
    assert.equal(seen.result, undefined);
    assert.equal(http.requests[0]!.cancelled, true);
    assert.equal(http.requests[0]!.ended, 1, "onEnd once, as the contract says");
    assert.equal(http.liveTimers, 0);
  });
});
