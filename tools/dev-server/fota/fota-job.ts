import type { Time, TimerHandle } from "../../../hal/time.js";
import type { DmResult } from "../dm-payloads.js";
import type { ServerEvent } from "../server.js";
import { describeUpdateResult, FINISHED_JOB_STATUSES, type FotaEvent, type FotaJobStatus, type FotaJobSummary, type FotaMethod, type FotaScheme } from "./events.js";

const STATE_PATH = "/5/0/3";
const RESULT_PATH = "/5/0/5";
const URI_PATH = "/5/0/1";
const UPDATE_PATH = "/5/0/2";
const VERSION_PATH = "/3/0/3";
/** /5/0/3 Downloaded. */
const DOWNLOADED = 2;
/** /5/0/5 Success; 2.. are failures. */
const SUCCESS = 1;

/** What a job does with the device, through the development server. */
export interface FotaJobContext {
  read(endpoint: string, path: string): Promise<DmResult>;
  write(endpoint: string, path: string, value: string): Promise<DmResult>;
  execute(endpoint: string, path: string): Promise<DmResult>;
  observe(endpoint: string, path: string): Promise<DmResult>;
  /** Ends an observation; not proactive when the device has rebooted (it has forgotten it). */
  cancelObservation(endpoint: string, path: string, proactive: boolean): void;
  /** Writes the package to /5/0/0 with Block1; `onProgress` gets the bytes acknowledged. */
  push(endpoint: string, onProgress: (bytes: number) => void): { done: Promise<void>; cancel(): void };
  emit(event: FotaEvent): void;
  readonly time: Time;
  /** No progress and no word from the device for this long while transferring: the job fails. */
  readonly stallTimeoutMs: number;
  /** The device has not come back (or reported a result) this long after Update: the job fails. */
  readonly rebootTimeoutMs: number;
}

export interface FotaJobSpec {
  readonly endpoint: string;
  readonly image: string;
  readonly total: number;
  readonly method: FotaMethod;
  readonly scheme?: FotaScheme;
  readonly uri?: string;
  readonly autoUpdate: boolean;
}

/** An integer value of `path` in a result: decoded (TLV, SenML) or as plain text. */
export function integerOf(result: DmResult, path: string): number | undefined {
  const value = result.values?.find((entry) => entry.path === path)?.value ?? (result.text !== undefined ? Number(result.text) : undefined);
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}

function textOf(result: DmResult, path: string): string | undefined {
  const value = result.values?.find((entry) => entry.path === path)?.value ?? result.text;
  return typeof value === "string" ? value : undefined;
}

/**
 * One firmware update of one device (LwM2M object 5), driven to its end:
 * observe State and Update Result, deliver the package (pull: write the
 * Package URI; push: write the package), execute Update once the device is
 * in Downloaded (unless autoUpdate is off), and report the outcome once the
 * device has come back (re-registered after its reboot: Update Result and
 * Firmware Version read then), or as soon as it reports a failure.
 */
export class FotaJob {
  readonly spec: FotaJobSpec;
  /** Settles with the final summary when the job has finished. */
  readonly finished: Promise<FotaJobSummary>;
  private readonly context: FotaJobContext;
  private status: FotaJobStatus = "starting";
  private deviceState: number | undefined;
  private updateResult: number | undefined;
  private bytes = 0;
  private previousVersion: string | undefined;
  private version: string | undefined;
  private detail: string | undefined;
  private readonly startedAt = new Date();
  private updatedAt = new Date();
  private finishedAt: Date | undefined;
  /** State 2 was seen after the package started on its way (an older download does not count). */
  private downloadedSinceTransfer = false;
  private transferred = false;
  /** The device rebooted (or the server closes): its observations are dropped without a message. */
  private observationsForgotten = false;
  private concluding = false;
  private deadline: TimerHandle | undefined;
  private pushing: { cancel(): void } | undefined;
  private resolveFinished!: (summary: FotaJobSummary) => void;

  constructor(context: FotaJobContext, spec: FotaJobSpec) {
    this.context = context;
    this.spec = spec;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get done(): boolean {
    return FINISHED_JOB_STATUSES.indexOf(this.status) >= 0;
  }

  summary(): FotaJobSummary {
    const s = this.spec;
    return {
      endpoint: s.endpoint,
      image: s.image,
      method: s.method,
      ...(s.scheme ? { scheme: s.scheme } : {}),
      ...(s.uri ? { uri: s.uri } : {}),
      autoUpdate: s.autoUpdate,
      status: this.status,
      ...(this.deviceState !== undefined ? { deviceState: this.deviceState } : {}),
      ...(this.updateResult !== undefined ? { updateResult: this.updateResult } : {}),
      bytes: this.bytes,
      total: s.total,
      ...(this.previousVersion !== undefined ? { previousVersion: this.previousVersion } : {}),
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      startedAt: this.startedAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
      ...(this.finishedAt ? { finishedAt: this.finishedAt.toISOString() } : {}),
    };
  }

  /** Runs the job; its outcome comes as events and through `finished`. */
  start(): void {
    this.run().catch((error: Error) => this.fail(error.message));
  }

  /** Bytes of the image transferred so far (from the progress of its transfer). */
  progress(bytes: number): void {
    if (this.done) return;
    this.bytes = bytes;
    if (this.status === "transferring") this.armDeadline(this.context.stallTimeoutMs, "no progress and no word from the device");
  }

  /** Events of the development server: notifications of State and Update Result, the device's re-registration. */
  onServerEvent(event: ServerEvent): void {
    if (this.done || !("endpoint" in event) || event.endpoint !== this.spec.endpoint) return;
    if (event.type === "notification" && this.status === "transferring") this.armDeadline(this.context.stallTimeoutMs, "no progress and no word from the device");
    if (event.type === "notification" && event.path === STATE_PATH) {
      const state = integerOf(event.result, STATE_PATH);
      if (state === undefined) return;
      this.deviceState = state;
      if (state === DOWNLOADED && this.status !== "starting") this.downloadedSinceTransfer = true;
      this.changed();
      this.evaluate();
    } else if (event.type === "notification" && event.path === RESULT_PATH) {
      const result = integerOf(event.result, RESULT_PATH);
      if (result === undefined) return;
      this.updateResult = result;
      this.changed();
      if (this.status === "starting") return; // what is left of an earlier update
      if (result > SUCCESS) this.fail(`the device reports Update Result ${describeUpdateResult(result)}`, result);
      else if (result === SUCCESS && this.status === "updating") void this.conclude();
    } else if (event.type === "registered" && this.status === "updating") {
      this.observationsForgotten = true;
      void this.conclude();
    } else if (event.type === "registered" && this.status === "transferring") {
      // The device rebooted mid-download (it resumes by itself): its observations ended with the old registration.
      void this.observeAgain().catch((error: Error) => this.fail(error.message));
    }
  }

  /** Observes State and Update Result again after a re-registration, and moves on if the device is already Downloaded. */
  private async observeAgain(): Promise<void> {
    const { endpoint } = this.spec;
    const state = await this.context.observe(endpoint, STATE_PATH);
    if (this.done) return;
    if (!state.success) throw new Error(`observe ${STATE_PATH} after the re-registration: ${state.code}`);
    const result = await this.context.observe(endpoint, RESULT_PATH);
    if (this.done) return;
    if (!result.success) throw new Error(`observe ${RESULT_PATH} after the re-registration: ${result.code}`);
    this.deviceState = integerOf(state, STATE_PATH);
    this.updateResult = integerOf(result, RESULT_PATH);
    this.changed();
    if ((this.updateResult ?? 0) > SUCCESS) return this.fail(`the device reports Update Result ${describeUpdateResult(this.updateResult!)}`, this.updateResult);
    if (this.deviceState === DOWNLOADED) this.downloadedSinceTransfer = true;
    this.evaluate();
  }

  /** Executes Update for a job waiting in Downloaded (autoUpdate off). */
  async update(): Promise<void> {
    if (this.status !== "downloaded") throw new Error(`the job is ${this.status}, not waiting in downloaded`);
    await this.executeUpdate();
  }

  /** Ends a running job; `quiet` drops its observations without a message (the server is closing). */
  cancel(reason = "cancelled", quiet = false): boolean {
    if (this.done) return false;
    if (quiet) this.observationsForgotten = true;
    this.pushing?.cancel();
    this.finish("cancelled", reason);
    return true;
  }

  private async run(): Promise<void> {
    const { endpoint } = this.spec;
    const context = this.context;
    this.changed();
    const version = await context.read(endpoint, VERSION_PATH).catch(() => undefined);
    if (version?.success) this.previousVersion = textOf(version, VERSION_PATH);
    const state = await context.observe(endpoint, STATE_PATH);
    if (!state.success) throw new Error(`observe ${STATE_PATH}: ${state.code}`);
    this.deviceState = integerOf(state, STATE_PATH);
    const result = await context.observe(endpoint, RESULT_PATH);
    if (!result.success) throw new Error(`observe ${RESULT_PATH}: ${result.code}`);
    this.updateResult = integerOf(result, RESULT_PATH);
    if (this.done) return;
    this.status = "transferring";
    this.armDeadline(context.stallTimeoutMs, "no progress and no word from the device");
    this.changed();
    if (this.spec.method === "pull") {
      const written = await context.write(endpoint, URI_PATH, this.spec.uri!);
      if (this.done) return;
      if (!written.success) return this.fail(`write ${URI_PATH}: ${written.code}${written.text ? ` ${written.text}` : ""}`);
    } else {
      const push = context.push(endpoint, (bytes) => this.progress(bytes));
      this.pushing = push;
      try {
        await push.done;
      } finally {
        this.pushing = undefined;
      }
      if (this.done) return;
    }
    this.transferred = true;
    this.evaluate();
  }

  /** Moves on once the device is in Downloaded after the transfer. */
  private evaluate(): void {
    if (this.status !== "transferring" || !this.transferred || !this.downloadedSinceTransfer) return;
    this.status = "downloaded";
    this.clearDeadline();
    this.changed();
    if (this.spec.autoUpdate) void this.executeUpdate().catch((error: Error) => this.fail(error.message));
    else this.detail = "downloaded: waiting for POST /clients/EP/fota/update (autoUpdate off)";
  }

  private async executeUpdate(): Promise<void> {
    this.status = "updating";
    this.detail = undefined;
    this.armDeadline(this.context.rebootTimeoutMs, "the device did not come back after Update");
    this.changed();
    const executed = await this.context.execute(this.spec.endpoint, UPDATE_PATH);
    if (!this.done && !executed.success) this.fail(`execute ${UPDATE_PATH}: ${executed.code}`);
  }

  /** The device is back (or reported success): reads Update Result and Firmware Version, and finishes. */
  private async conclude(): Promise<void> {
    if (this.done || this.concluding) return;
    this.concluding = true;
    const { endpoint } = this.spec;
    const result = await this.context.read(endpoint, RESULT_PATH).catch(() => undefined);
    const version = await this.context.read(endpoint, VERSION_PATH).catch(() => undefined);
    if (this.done) return;
    const value = result?.success ? integerOf(result, RESULT_PATH) : undefined;
    if (value !== undefined) this.updateResult = value;
    if (version?.success) this.version = textOf(version, VERSION_PATH);
    if (this.updateResult === SUCCESS) this.finish("succeeded");
    else this.fail(value === undefined ? `cannot read ${RESULT_PATH} after the update (${result?.code ?? "no answer"})` : `the device reports Update Result ${describeUpdateResult(value)}`, value);
  }

  private fail(detail: string, result?: number): void {
    if (this.done) return;
    if (result !== undefined) this.updateResult = result;
    this.pushing?.cancel();
    this.finish("failed", detail);
  }

  private finish(status: "succeeded" | "failed" | "cancelled", detail?: string): void {
    this.status = status;
    this.detail = detail;
    this.finishedAt = new Date();
    this.clearDeadline();
    // After a reboot the device has forgotten the observations: drop them without a message.
    for (const path of [STATE_PATH, RESULT_PATH]) this.context.cancelObservation(this.spec.endpoint, path, !this.observationsForgotten);
    this.changed();
    const result = this.updateResult ?? 0;
    this.context.emit({
      type: "fota-result",
      endpoint: this.spec.endpoint,
      image: this.spec.image,
      result,
      success: status === "succeeded",
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(detail !== undefined ? { detail } : {}),
    });
    this.resolveFinished(this.summary());
  }

  private changed(): void {
    this.updatedAt = new Date();
    this.context.emit({ type: "fota-job", job: this.summary() });
  }

  private armDeadline(ms: number, why: string): void {
    this.clearDeadline();
    this.deadline = this.context.time.setTimer(ms, () => {
      this.deadline = undefined;
      this.fail(`${why} for ${Math.round(ms / 1000)} s`);
    });
  }

  private clearDeadline(): void {
    this.context.time.clearTimer(this.deadline);
    this.deadline = undefined;
  }
}
