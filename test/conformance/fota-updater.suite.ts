import { FlashFirmwareStorage } from "../../hal/common/flash-firmware-storage.js";
import { MemoryBlockDevice } from "../../hal/common/memory-block-device.js";
import type { Platform } from "../../hal/platform.js";
import type { DownloadJob, FirmwareDownloader } from "../../modules/fota/download.js";
import type { FirmwareSink, SinkVerdict } from "../../modules/fota/firmware-sink.js";
import { FirmwareUpdater } from "../../modules/fota/firmware-updater.js";
import { decodeUpdateInfo } from "../../modules/fota/update-info.js";
import { FirmwareUpdateResult } from "../../modules/lwm2m/objects/firmware-update.js";
import type { FirmwareUpdateHandlers, PackageIdentity } from "../../modules/lwm2m/objects/firmware-update-state.js";
import { assert, suite, waitFor } from "./harness.js";

const SECTOR = 1024;
const PACKAGE = packageBytes(20000);

function packageBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  bytes.set([0x47, 0x4f, 0x4f, 0x44], 0); // "GOOD": the test sink's idea of a valid package
  return bytes;
}

/** A sink over the real firmware storage whose check is "starts with GOOD and is whole". */
class TestSink implements FirmwareSink {
  readonly storage: FlashFirmwareStorage;
  opened: number[] = [];
  resets = 0;
  constructor(storage: FlashFirmwareStorage) {
    this.storage = storage;
  }
  get capacity(): number {
    return this.storage.capacity;
  }
  open(expectedSize: number | undefined, resumeAt: number): number | void {
    if (expectedSize !== undefined && expectedSize > this.capacity) return FirmwareUpdateResult.NotEnoughStorage;
    this.opened.push(resumeAt);
    if (resumeAt > 0) this.storage.resumeDownload(resumeAt);
    else this.storage.beginDownload(expectedSize);
  }
  write(offset: number, data: Uint8Array): number | void {
    this.storage.write(offset, data);
  }
  verify(length: number): SinkVerdict {
    const bytes = this.storage.read(0, length);
    const good = length === PACKAGE.length && bytes.every((b, i) => b === PACKAGE[i]);
    return good ? { result: FirmwareUpdateResult.Success, identity: { name: "demo", version: "2.0.0" }, detail: "ok" } : { result: FirmwareUpdateResult.IntegrityCheckFailure, detail: "bad" };
  }
  finish(length: number): number | void {
    this.storage.endDownload("success", length);
  }
  performUpdate(): number | void {
    this.storage.activate();
  }
  updateOutcome(): "none" | "success" | "failure" {
    return this.storage.getActivateResult();
  }
  reset(): void {
    this.resets++;
    this.storage.endDownload("failure", 0);
  }
}

/** Serves `source` in 1024-byte blocks; can fail after a number of blocks. */
class ScriptedDownloader implements FirmwareDownloader {
  readonly protocols = Object.freeze([0]);
  readonly starts: { offset: number; etag: string }[] = [];
  source: Uint8Array = PACKAGE;
  etag = new Uint8Array([1, 2, 3, 4]);
  failAfterBlocks: number[] = [];
  cancelled = 0;
  private readonly platform: Platform;
  constructor(platform: Platform) {
    this.platform = platform;
  }
  start(job: DownloadJob, done: (result: number, detail: string) => void): { cancel(): void } {
    this.starts.push({ offset: job.offset, etag: job.etag ? Array.from(job.etag).join(",") : "" });
    const sameEtag = job.etag !== undefined && job.etag.length === this.etag.length && job.etag.every((b, i) => b === this.etag[i]);
    let offset = sameEtag ? job.offset - (job.offset % 1024) : 0;
    const failAfter = this.failAfterBlocks.shift();
    let blocks = 0;
    let timer = this.platform.time.setTimer(0, () => undefined);
    let stopped = false;
    const refused = job.onStart({ etag: this.etag, size: this.source.length, offset });
    if (refused !== undefined) {
      this.platform.time.setTimer(0, () => done(refused, "refused at start"));
      return { cancel: () => undefined };
    }
    const step = () => {
      if (stopped) return;
      if (failAfter !== undefined && blocks === failAfter) return done(FirmwareUpdateResult.ConnectionLost, "scripted loss");
      if (offset >= this.source.length) return done(FirmwareUpdateResult.Success, "complete");
      const data = this.source.slice(offset, offset + 1024);
      const stop = job.onData(offset, data);
      if (stop !== undefined) return done(stop, "refused");
      offset += data.length;
      blocks++;
      timer = this.platform.time.setTimer(0, step);
    };
    timer = this.platform.time.setTimer(0, step);
    return {
      cancel: () => {
        stopped = true;
        this.cancelled++;
        this.platform.time.clearTimer(timer);
      },
    };
  }
}

interface Rig {
  device: MemoryBlockDevice;
  storage: FlashFirmwareStorage;
  sink: TestSink;
  updater: FirmwareUpdater;
  handlers: FirmwareUpdateHandlers;
  downloader: ScriptedDownloader;
  restarts: number;
}

function boot(platform: Platform, device?: MemoryBlockDevice): Rig {
  const medium = device ?? new MemoryBlockDevice(SECTOR * 40, SECTOR);
  const storage = new FlashFirmwareStorage(medium);
  storage.init();
  const sink = new TestSink(storage);
  const downloader = new ScriptedDownloader(platform);
  const rig = { device: medium, storage, sink, downloader, restarts: 0 } as Rig;
  rig.updater = new FirmwareUpdater({ storage, sink, time: platform.time, buildVersion: "1.0.0", restart: () => rig.restarts++, checkpointBytes: 4096, retryDelayMs: 5, restartDelayMs: 1 });
  rig.updater.restore();
  rig.handlers = rig.updater.handlers([downloader]);
  return rig;
}

function outcome(): { done: (result: number, identity?: PackageIdentity) => void; result: number | undefined; identity: PackageIdentity | undefined } {
  const box = { result: undefined as number | undefined, identity: undefined as PackageIdentity | undefined, done: (_r: number, _i?: PackageIdentity) => undefined as void };
  box.done = (result, identity) => {
    box.result = result;
    box.identity = identity;
  };
  return box;
}

function info(rig: Rig) {
  return decodeUpdateInfo(rig.storage.readUpdateInfo());
}

export default suite("fota updater", (test) => {
  test("a pull download is checkpointed, verified and becomes Downloaded", async ({ platform }) => {
    const rig = boot(platform);
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    assert.equal(info(rig)?.phase, "downloading");
    await waitFor(platform, () => end.result !== undefined, 5000, "the download to end");
    assert.equal(end.result, FirmwareUpdateResult.Success);
    assert.equal(end.identity, { name: "demo", version: "2.0.0" });
    assert.equal(info(rig)?.phase, "downloaded");
    assert.equal(rig.storage.read(0, PACKAGE.length), PACKAGE);
  });

  test("a lost connection is retried from the bytes written, not from zero", async ({ platform }) => {
    const rig = boot(platform);
    rig.downloader.failAfterBlocks = [7, 3];
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    await waitFor(platform, () => end.result !== undefined, 5000, "the download to end");
    assert.equal(end.result, FirmwareUpdateResult.Success);
    assert.equal(rig.downloader.starts.map((start) => start.offset), [0, 7 * 1024, 10 * 1024]);
    assert.equal(rig.downloader.starts[1]!.etag, "1,2,3,4", "the resumed request names the ETag");
  });

  test("a reboot mid-download resumes from the persisted checkpoint once registered", async ({ platform }) => {
    const first = boot(platform);
    first.downloader.failAfterBlocks = [11];
    const end = outcome();
    const retryless = new FirmwareUpdater({ storage: first.storage, sink: first.sink, time: platform.time, buildVersion: "1.0.0", restart: () => undefined, checkpointBytes: 4096, retries: 0 });
    retryless.restore();
    retryless.handlers([first.downloader]).startDownload("coap://192.0.2.1/fw", end.done);
    await waitFor(platform, () => end.result !== undefined, 5000, "the interruption");
    // Power goes: the record still says downloading (the final loss kept the offset for the same URI too).
    const saved = info(first)!;
    assert.equal(saved.offset, 8192, "the last 4 KiB checkpoint before block 11");
    // Simulate a reboot while downloading: phase downloading at that offset.
    first.storage.writeUpdateInfo(new TextEncoder().encode(JSON.stringify({ f: 1, ...saved, phase: "downloading", delivery: "pull" })));
    const second = boot(platform, first.device);
    const resumed = outcome();
    assert.equal(second.handlers.initial?.state, 1, "Downloading after the reboot");
    assert.ok(second.handlers.resume!(resumed.done), "a download to resume");
    assert.ok(!second.handlers.resume!(resumed.done), "resumed once only");
    await waitFor(platform, () => resumed.result !== undefined, 5000, "the resumed download");
    assert.equal(resumed.result, FirmwareUpdateResult.Success);
    assert.equal(second.downloader.starts[0]!.offset, 8192);
    assert.equal(second.storage.read(0, PACKAGE.length), PACKAGE);
  });

  test("writing the same URI after a lost download continues it", async ({ platform }) => {
    const rig = boot(platform);
    const limited = new FirmwareUpdater({ storage: rig.storage, sink: rig.sink, time: platform.time, buildVersion: "1.0.0", restart: () => undefined, checkpointBytes: 4096, retries: 0 });
    limited.restore();
    const handlers = limited.handlers([rig.downloader]);
    rig.downloader.failAfterBlocks = [9];
    const lost = outcome();
    handlers.startDownload("coap://192.0.2.1/fw", lost.done);
    await waitFor(platform, () => lost.result !== undefined, 5000, "the loss");
    assert.equal(lost.result, FirmwareUpdateResult.ConnectionLost);
    const again = outcome();
    handlers.startDownload("coap://192.0.2.1/fw", again.done);
    await waitFor(platform, () => again.result !== undefined, 5000, "the second attempt");
    assert.equal(again.result, FirmwareUpdateResult.Success);
    assert.equal(rig.downloader.starts[1]!.offset, 8192);
  });

  test("a package failing its check ends in Update Result 5 and is discarded", async ({ platform }) => {
    const rig = boot(platform);
    const tampered = PACKAGE.slice();
    tampered[5000] = tampered[5000]! ^ 1;
    rig.downloader.source = tampered;
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    await waitFor(platform, () => end.result !== undefined, 5000, "the download to end");
    assert.equal(end.result, FirmwareUpdateResult.IntegrityCheckFailure);
    assert.equal(info(rig)?.phase, "idle");
    assert.equal(info(rig)?.result, 5);
    assert.throws(() => rig.storage.activate(), "completely downloaded");
  });

  test("a package larger than the storage ends in Update Result 2", async ({ platform }) => {
    const rig = boot(platform);
    rig.downloader.source = new Uint8Array(rig.storage.capacity + 1);
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    await waitFor(platform, () => end.result !== undefined, 5000, "the refusal");
    assert.equal(end.result, FirmwareUpdateResult.NotEnoughStorage);
  });

  test("a pushed package: blocks in order become Downloaded; an interrupted push is Result 4 after a reboot", ({ platform }) => {
    const rig = boot(platform);
    const end = outcome();
    for (let offset = 0; offset < PACKAGE.length; offset += 1024) rig.handlers.writePackage!(offset, PACKAGE.slice(offset, offset + 1024), offset + 1024 < PACKAGE.length, end.done);
    assert.equal(end.result, FirmwareUpdateResult.Success);
    const half = outcome();
    rig.handlers.writePackage!(0, PACKAGE.slice(0, 1024), true, half.done);
    rig.handlers.writePackage!(1024, PACKAGE.slice(1024, 2048), true, half.done);
    assert.equal(half.result, undefined);
    const rebooted = boot(platform, rig.device);
    assert.equal(rebooted.handlers.initial, { state: 0, result: FirmwareUpdateResult.ConnectionLost });
  });

  test("Update activates, reboots, and the next boot reports Success and the new version", async ({ platform }) => {
    const rig = boot(platform);
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    await waitFor(platform, () => end.result !== undefined, 5000, "the download");
    let failed: number | undefined;
    rig.handlers.update((result) => (failed = result));
    await waitFor(platform, () => rig.restarts === 1, 2000, "the reboot");
    assert.equal(failed, undefined);
    const rebooted = boot(platform, rig.device);
    assert.equal(rebooted.handlers.initial, { state: 0, result: FirmwareUpdateResult.Success, identity: { name: "demo", version: "2.0.0" } });
    assert.equal(rebooted.updater.runningVersion, "2.0.0");
    const again = boot(platform, rig.device);
    assert.equal(again.updater.runningVersion, "2.0.0", "the running version stays across later boots");
  });

  test("an image failing the boot check reports Update Result 8 and keeps the old version", async ({ platform }) => {
    const rig = boot(platform);
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    await waitFor(platform, () => end.result !== undefined, 5000, "the download");
    rig.handlers.update(() => undefined);
    rig.device.write(2 * SECTOR + 100, new Uint8Array([0])); // the image is damaged before the boot loader checks it
    const rebooted = boot(platform, rig.device);
    assert.equal(rebooted.handlers.initial?.result, FirmwareUpdateResult.UpdateFailed);
    assert.equal(rebooted.updater.runningVersion, "1.0.0");
    rig.updater.close();
  });

  test("cancel stops the download and returns to Idle", async ({ platform }) => {
    const rig = boot(platform);
    const end = outcome();
    rig.handlers.startDownload("coap://192.0.2.1/fw", end.done);
    rig.handlers.cancelDownload!();
    assert.equal(rig.downloader.cancelled, 1);
    assert.equal(info(rig)?.phase, "idle");
    rig.updater.close();
  });
});
