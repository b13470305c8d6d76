import type { Logger } from "../../hal/log.js";
import { FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import type { DownloadDone, DownloadJob, DownloadStart } from "./download.js";

/** Times one download may start again from 0 (the resource changed, the server could not resume) before it gives up. */
export const MAX_RESTARTS = 2;
const MAX_RELEASES = 4;

/**
 * The bookkeeping every downloader shares for one job: done is called at
 * most once, never after cancel() and never from inside start() (a result
 * known at once is delivered on a later turn); onStart comes once per
 * attempt, before its data; a number returned by onStart or onData ends the
 * download with that result; the data's size is checked against the size
 * the server announced.
 */
export class DownloadRun {
  readonly job: DownloadJob;
  private readonly done: DownloadDone;
  private readonly log: Logger | undefined;
  /** What the downloader holds (the exchange under way, a DTLS peer): released once, last first, when the run ends or is cancelled. */
  private readonly releases: (() => void)[] = [];
  private state: "running" | "ended" | "cancelled" = "running";
  private inStart = true;
  /** Announced total size of the current attempt. */
  private size: number | undefined;
  /** Offset after the last byte handed over in this attempt; undefined before onStart. */
  private next: number | undefined;
  restarts = 0;

  constructor(job: DownloadJob, done: DownloadDone, log: Logger | undefined) {
    this.job = job;
    this.done = done;
    this.log = log;
  }

  get running(): boolean {
    return this.state === "running";
  }

  /** Whether onStart was called in this attempt. */
  get started(): boolean {
    return this.next !== undefined;
  }

  /** Adds something to release at the end; a downloader adds a fixed few (at most MAX_RELEASES). */
  onRelease(release: () => void): void {
    if (this.releases.length >= MAX_RELEASES) throw new RangeError("too many releases for one download");
    this.releases.push(release);
  }

  private release(): void {
    while (this.releases.length > 0) this.releases.pop()!();
  }

  /** start() has returned: results from now on are delivered at once. */
  leaveStart(): void {
    this.inStart = false;
  }

  /** A new attempt (the first, or one from 0 again): its onStart is still to come. */
  newAttempt(): void {
    this.size = undefined;
    this.next = undefined;
  }

  /** Calls onStart; false when the run ended (the updater refused). */
  begin(start: DownloadStart): boolean {
    if (!this.running) return false;
    this.size = start.size;
    this.next = start.offset;
    const refused = this.job.onStart(start);
    if (typeof refused === "number") return this.end(refused, `the updater refused the download at its start (result ${refused})`), false;
    return this.running;
  }

  /**
   * Hands `data` at `offset` to onData after checking it against the
   * announced size (more than it, or a different size announced later: the
   * package is not the one announced, IntegrityCheckFailure); false when
   * the run ended.
   */
  data(offset: number, data: Uint8Array, announcedSize: number | undefined): boolean {
    if (!this.running) return false;
    if (this.size !== undefined && announcedSize !== undefined && announcedSize !== this.size) {
      return this.end(FirmwareUpdateResult.IntegrityCheckFailure, `the announced size changed from ${this.size} to ${announcedSize} during the download`), false;
    }
    if (this.size !== undefined && offset + data.length > this.size) {
      return this.end(FirmwareUpdateResult.IntegrityCheckFailure, `the server sent bytes up to ${offset + data.length}, beyond the ${this.size} it announced`), false;
    }
    const refused = this.job.onData(offset, data);
    if (typeof refused === "number") return this.end(refused, `the updater refused the data at offset ${offset} (result ${refused})`), false;
    this.next = offset + data.length;
    return this.running;
  }

  /** The server said the body is over: Success, unless it ended short of the announced size. */
  complete(): void {
    if (this.size !== undefined && (this.next ?? 0) < this.size) {
      return this.end(FirmwareUpdateResult.IntegrityCheckFailure, `the download ended at ${this.next ?? 0} bytes of the ${this.size} announced`);
    }
    this.end(FirmwareUpdateResult.Success, `${this.next ?? 0} bytes`);
  }

  /** Counts a restart from 0; false (and the run ended) when there were too many. */
  restart(why: string): boolean {
    if (!this.running) return false;
    if (++this.restarts > MAX_RESTARTS) return this.end(FirmwareUpdateResult.ConnectionLost, `gave up after ${MAX_RESTARTS} restarts: ${why}`), false;
    this.log?.info(`download of ${this.job.uri} starts again from 0: ${why}`);
    this.newAttempt();
    return true;
  }

  /** Ends the run with `result`; later calls do nothing. */
  end(result: number, detail: string): void {
    if (this.state !== "running") return;
    this.state = "ended";
    this.release();
    this.log?.[result === FirmwareUpdateResult.Success ? "info" : "warn"](`download of ${this.job.uri}: result ${result} (${detail})`);
    if (!this.inStart) return this.done(result, detail);
    void Promise.resolve().then(() => {
      if (this.state === "ended") this.done(result, detail);
    });
  }

  /** Stops the run without a result (done is not called). */
  cancel(): void {
    if (this.state === "cancelled") return;
    const running = this.state === "running";
    this.state = "cancelled";
    if (running) this.release();
  }
}
