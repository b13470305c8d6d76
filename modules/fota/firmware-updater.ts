import type { Logger } from "../../hal/log.js";
import type { FirmwareStorage } from "../../hal/storage.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { fromHex, toHex } from "../coap/message.js";
import { FirmwareState, FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import type { FirmwareUpdateHandlers, PackageIdentity, TransferDone } from "../lwm2m/objects/firmware-update-state.js";
import type { DownloadHandle, FirmwareDownloader } from "./download.js";
import { parseDownloadUri } from "./download-uri.js";
import { StorageFirmwareSink, type FirmwareSink, type PackageTrust } from "./firmware-sink.js";
import { decodeUpdateInfo, encodeUpdateInfo, type UpdateInfo } from "./update-info.js";

export interface FirmwareUpdaterOptions {
  /** The storage device: its update-info record carries an update across reboots. */
  readonly storage: FirmwareStorage;
  /** Where packages go; default: the storage device itself, packages checked against `trust`. */
  readonly sink?: FirmwareSink;
  readonly trust?: PackageTrust;
  readonly time: Time;
  readonly log?: Logger;
  /** Version of the image this build is, until an update has been activated. */
  readonly buildVersion: string;
  /** Reboots into the activated image. */
  readonly restart: () => void;
  /** Bytes between two persisted download checkpoints (default 16 KiB); at most this much is fetched again after a reboot. */
  readonly checkpointBytes?: number;
  /** CoAP Block2 size asked for (default 1024). */
  readonly blockSize?: number;
  /** Times a lost connection is retried from where the download stopped, before Update Result 4 (default 3). */
  readonly retries?: number;
  /** First retry delay, doubled each time (default 2 s). */
  readonly retryDelayMs?: number;
  /** Between the Update's 2.04 and the reboot, so the answer and the State notification leave first (default 1 s). */
  readonly restartDelayMs?: number;
  /** Each block written: bytes so far, and the total when known. */
  readonly onProgress?: (bytes: number, total: number | undefined) => void;
}

interface PullJob {
  readonly uri: string;
  readonly done: TransferDone;
  handle: DownloadHandle | undefined;
  retryTimer: TimerHandle | undefined;
  written: number;
  checkpoint: number;
  etag: Uint8Array | undefined;
  size: number | undefined;
  retriesLeft: number;
  delayMs: number;
}

/**
 * Firmware update behind object 5: runs pull downloads through the
 * downloaders and pushed packages into the sink, keeps the update-info
 * record (phase, URI, offset, ETag) so a reboot or power loss resumes a
 * download where its last checkpoint was, verifies the package before it is
 * Downloaded, and after the reboot of an Update reports its outcome.
 */
export class FirmwareUpdater {
  private readonly options: FirmwareUpdaterOptions;
  private readonly storage: FirmwareStorage;
  private readonly sink: FirmwareSink;
  private readonly log: Logger | undefined;
  private info: UpdateInfo = { phase: "idle" };
  private initial: { state: number; result: number; identity?: PackageIdentity } = { state: FirmwareState.Idle, result: FirmwareUpdateResult.Initial };
  private job: PullJob | undefined;
  private pushWritten = -1;
  private resumePending = false;
  private restartTimer: TimerHandle | undefined;
  private lastLoggedTenth = -1;

  constructor(options: FirmwareUpdaterOptions) {
    this.options = options;
    this.storage = options.storage;
    this.sink = options.sink ?? new StorageFirmwareSink(options.storage, options.trust ?? { crypto: undefined, publicKey: undefined });
    this.log = options.log;
  }

  /** The version running now: the activated package's, or the build's. */
  get runningVersion(): string {
    return this.info.runningVersion ?? this.options.buildVersion;
  }

  /**
   * Reads the update-info record (call once at start-up, after the storage's
   * init): settles the outcome of an Update that rebooted, and notes a pull
   * download to resume once the client is registered.
   */
  restore(): void {
    const saved = decodeUpdateInfo(this.storage.readUpdateInfo());
    this.info = saved ?? { phase: "idle" };
    const identity = this.info.name !== undefined && this.info.version !== undefined ? { name: this.info.name, version: this.info.version } : undefined;
    const phase = this.info.phase;
    if (phase === "updating") {
      const outcome = this.sink.updateOutcome();
      const result = outcome === "success" ? FirmwareUpdateResult.Success : FirmwareUpdateResult.UpdateFailed;
      const running = outcome === "success" ? { runningVersion: this.info.version, runningName: this.info.name } : {};
      this.log?.info(outcome === "success" ? `update to ${this.info.version} activated: running it` : `update to ${this.info.version} failed (${outcome === "none" ? "it was never activated" : "the image did not pass the boot check"}): running ${this.runningVersion}`);
      this.persist({ phase: "idle", result, ...running, ...(identity ?? {}) });
      this.initial = { state: FirmwareState.Idle, result, ...(identity ? { identity } : {}) };
    } else if (phase === "downloaded") {
      this.initial = { state: FirmwareState.Downloaded, result: FirmwareUpdateResult.Initial, ...(identity ? { identity } : {}) };
    } else if (phase === "downloading" && this.info.delivery === "pull" && this.info.uri) {
      this.resumePending = true;
      this.log?.info(`download of ${this.info.uri} interrupted at ${this.info.offset ?? 0} bytes: resuming once registered`);
      this.initial = { state: FirmwareState.Downloading, result: FirmwareUpdateResult.Initial };
    } else if (phase === "downloading") {
      // A pushed package cannot be continued by the device: the server pushes it again.
      this.sink.reset();
      this.persist({ phase: "idle", result: FirmwareUpdateResult.ConnectionLost });
      this.initial = { state: FirmwareState.Idle, result: FirmwareUpdateResult.ConnectionLost };
    } else {
      this.initial = { state: FirmwareState.Idle, result: this.info.result ?? FirmwareUpdateResult.Initial, ...(identity ? { identity } : {}) };
    }
  }

  /** The object 5 handlers, downloading through `downloaders` (one per scheme family). */
  handlers(downloaders: readonly FirmwareDownloader[], onChange?: (state: number, result: number) => void): FirmwareUpdateHandlers {
    const protocols: number[] = [];
    for (const downloader of downloaders) for (const protocol of downloader.protocols) if (protocols.indexOf(protocol) < 0) protocols.push(protocol);
    protocols.sort((a, b) => a - b);
    const pick = (uri: string) => {
      const protocol = uri.startsWith("coaps://") ? 1 : uri.startsWith("coap://") ? 0 : uri.startsWith("https://") ? 3 : uri.startsWith("http://") ? 2 : -1;
      return downloaders.find((downloader) => downloader.protocols.indexOf(protocol) >= 0);
    };
    return {
      protocols,
      initial: this.initial,
      ...(onChange ? { onChange } : {}),
      checkUri: (uri) => {
        const parsed = parseDownloadUri(uri);
        return typeof parsed === "string" ? parsed : undefined;
      },
      startDownload: (uri, done) => {
        const downloader = pick(uri);
        if (!downloader) return done(FirmwareUpdateResult.UnsupportedProtocol);
        // The same URI again after a lost connection continues where it stopped.
        const resumable = this.info.uri === uri && (this.info.offset ?? 0) > 0 && (this.info.phase === "downloading" || this.info.result === FirmwareUpdateResult.ConnectionLost);
        this.startPull(downloader, uri, resumable ? this.info.offset! : 0, resumable && this.info.etag ? fromHex(this.info.etag) : undefined, done);
      },
      resume: (done) => {
        if (!this.resumePending || !this.info.uri) return false;
        const downloader = pick(this.info.uri);
        this.resumePending = false;
        if (!downloader) {
          done(FirmwareUpdateResult.UnsupportedProtocol);
          return true;
        }
        this.startPull(downloader, this.info.uri, this.info.offset ?? 0, this.info.etag ? fromHex(this.info.etag) : undefined, done);
        return true;
      },
      writePackage: (offset, data, more, done) => this.pushBlock(offset, data, more, done),
      cancelDownload: () => this.cancel(),
      update: (done) => this.update(done),
      close: () => this.close(),
    };
  }

  /** Stops every download, retry and pending reboot (deinit). */
  close(): void {
    this.stopPull();
    this.options.time.clearTimer(this.restartTimer);
    this.restartTimer = undefined;
  }

  private startPull(downloader: FirmwareDownloader, uri: string, offset: number, etag: Uint8Array | undefined, done: TransferDone): void {
    this.stopPull();
    this.pushWritten = -1;
    this.lastLoggedTenth = -1;
    const job: PullJob = { uri, done, handle: undefined, retryTimer: undefined, written: offset, checkpoint: offset, etag, size: undefined, retriesLeft: this.options.retries ?? 3, delayMs: this.options.retryDelayMs ?? 2000 };
    this.job = job;
    this.log?.info(`downloading ${uri}${offset > 0 ? ` from byte ${offset}` : ""}`);
    this.fetch(downloader, job);
  }

  private fetch(downloader: FirmwareDownloader, job: PullJob): void {
    job.handle = downloader.start(
      {
        uri: job.uri,
        offset: job.written,
        ...(job.etag ? { etag: job.etag } : {}),
        blockSize: this.options.blockSize ?? 1024,
        onStart: (start) => {
          if (start.offset !== job.written) this.log?.info(`the server cannot resume at ${job.written}: downloading from ${start.offset}`);
          job.written = start.offset;
          job.checkpoint = start.offset;
          job.etag = start.etag;
          job.size = start.size;
          const refused = this.sink.open(start.size, start.offset);
          if (refused !== undefined) return refused;
          this.persist({ phase: "downloading", delivery: "pull", uri: job.uri, offset: start.offset, ...(start.etag ? { etag: toHex(start.etag) } : {}), ...(start.size !== undefined ? { size: start.size } : {}) });
        },
        onData: (offset, data) => {
          const refused = this.sink.write(offset, data);
          if (refused !== undefined) return refused;
          job.written = Math.max(job.written, offset + data.length);
          if (job.written - job.checkpoint >= (this.options.checkpointBytes ?? 16384)) {
            job.checkpoint = job.written;
            this.persist({ ...this.info, offset: job.written });
          }
          this.progress(job.written, job.size);
        },
      },
      (result, detail) => {
        if (this.job !== job) return;
        job.handle = undefined;
        if (result === FirmwareUpdateResult.ConnectionLost && job.retriesLeft > 0) {
          job.retriesLeft--;
          this.log?.warn(`download of ${job.uri} interrupted at ${job.written} bytes (${detail}): retrying in ${job.delayMs} ms`);
          job.retryTimer = this.options.time.setTimer(job.delayMs, () => {
            job.retryTimer = undefined;
            this.fetch(downloader, job);
          });
          job.delayMs *= 2;
          return;
        }
        this.job = undefined;
        if (result === FirmwareUpdateResult.Success) return this.packageComplete(job.written, job.done);
        this.log?.warn(`download of ${job.uri} failed (Update Result ${result}): ${detail}`);
        if (result === FirmwareUpdateResult.ConnectionLost) {
          // Kept, so writing the same URI again continues from here.
          this.persist({ ...this.info, phase: "idle", result, offset: job.checkpoint });
        } else {
          this.sink.reset();
          this.persist({ phase: "idle", result });
        }
        job.done(result);
      },
    );
  }

  private pushBlock(offset: number, data: Uint8Array, more: boolean, done: TransferDone): void {
    if (offset === 0) {
      this.stopPull();
      this.lastLoggedTenth = -1;
      const refused = this.sink.open(undefined, 0);
      if (refused !== undefined) return this.failPush(refused, done);
      this.persist({ phase: "downloading", delivery: "push" });
      this.pushWritten = 0;
      this.log?.info("receiving a pushed package");
    }
    if (this.pushWritten !== offset) return this.failPush(FirmwareUpdateResult.ConnectionLost, done);
    const refused = this.sink.write(offset, data);
    if (refused !== undefined) return this.failPush(refused, done);
    this.pushWritten = offset + data.length;
    this.progress(this.pushWritten, undefined);
    if (more) return;
    const length = this.pushWritten;
    this.pushWritten = -1;
    this.packageComplete(length, done);
  }

  private failPush(result: number, done: TransferDone): void {
    this.pushWritten = -1;
    this.sink.reset();
    this.persist({ phase: "idle", result });
    this.log?.warn(`pushed package refused (Update Result ${result})`);
    done(result);
  }

  /** Verifies the whole package; only a verified one becomes Downloaded. */
  private packageComplete(length: number, done: TransferDone): void {
    const verdict = this.sink.verify(length);
    if (verdict.result !== FirmwareUpdateResult.Success || !verdict.identity) {
      this.log?.warn(`package of ${length} bytes refused (Update Result ${verdict.result}): ${verdict.detail}`);
      this.sink.reset();
      this.persist({ phase: "idle", result: verdict.result });
      return done(verdict.result);
    }
    const failed = this.sink.finish(length);
    if (failed !== undefined) {
      this.persist({ phase: "idle", result: failed });
      return done(failed);
    }
    this.persist({ phase: "downloaded", length, name: verdict.identity.name, version: verdict.identity.version });
    this.log?.info(`package "${verdict.identity.name}" version ${verdict.identity.version} downloaded (${length} bytes, ${verdict.detail})`);
    done(FirmwareUpdateResult.Success, verdict.identity);
  }

  private update(done: (result: number) => void): void {
    this.persist({ ...this.info, phase: "updating" });
    const failed = this.sink.performUpdate();
    if (failed !== undefined) {
      this.persist({ phase: "idle", result: failed });
      this.log?.warn(`update failed (Update Result ${failed})`);
      return done(failed);
    }
    this.log?.info(`update to ${this.info.version} activated: rebooting`);
    this.restartTimer = this.options.time.setTimer(this.options.restartDelayMs ?? 1000, () => {
      this.restartTimer = undefined;
      this.options.restart();
    });
  }

  private cancel(): void {
    this.stopPull();
    this.resumePending = false;
    this.pushWritten = -1;
    this.sink.reset();
    this.persist({ phase: "idle", result: FirmwareUpdateResult.Initial });
    this.log?.info("firmware update cancelled");
  }

  private stopPull(): void {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    job.handle?.cancel();
    this.options.time.clearTimer(job.retryTimer);
  }

  private progress(bytes: number, total: number | undefined): void {
    this.options.onProgress?.(bytes, total);
    if (total === undefined || total === 0) return;
    const tenth = Math.floor((bytes * 10) / total);
    if (tenth === this.lastLoggedTenth) return;
    this.lastLoggedTenth = tenth;
    this.log?.debug(`firmware download ${tenth * 10} % (${bytes} of ${total} bytes)`);
  }

  /** Replaces the update-info record; the running image's identity is carried along. */
  private persist(next: UpdateInfo): void {
    const running = this.info.runningVersion !== undefined ? { runningVersion: this.info.runningVersion, ...(this.info.runningName !== undefined ? { runningName: this.info.runningName } : {}) } : {};
    this.info = { ...running, ...next };
    this.storage.writeUpdateInfo(encodeUpdateInfo(this.info));
  }
}
