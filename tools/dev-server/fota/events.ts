import type { FotaTransport } from "./progress.js";

export type FotaMethod = "pull" | "push";
export type FotaScheme = "coap" | "coaps" | "http";

/**
 * Where a job is: starting (reading the device's state, observing /5/0/3 and
 * /5/0/5), transferring (pull: Package URI written, the device downloads;
 * push: the package goes to /5/0/0 by Block1), downloaded (State 2; waits
 * for POST .../fota/update when autoUpdate is off), updating (Update
 * executed; waiting for the device to come back), then succeeded, failed or
 * cancelled.
 */
export type FotaJobStatus = "starting" | "transferring" | "downloaded" | "updating" | "succeeded" | "failed" | "cancelled";

export const FINISHED_JOB_STATUSES: readonly FotaJobStatus[] = Object.freeze(["succeeded", "failed", "cancelled"]);

export interface FotaJobSummary {
  readonly endpoint: string;
  readonly image: string;
  readonly method: FotaMethod;
  /** Pull: the scheme of the Package URI. */
  readonly scheme?: FotaScheme;
  readonly uri?: string;
  readonly autoUpdate: boolean;
  readonly status: FotaJobStatus;
  /** The device's /5/0/3 State (0 Idle, 1 Downloading, 2 Downloaded, 3 Updating), as last seen. */
  readonly deviceState?: number;
  /** The device's /5/0/5 Update Result, as last seen. */
  readonly updateResult?: number;
  /** Bytes of the image transferred so far (blocks or ranges served, or pushed and acknowledged). */
  readonly bytes: number;
  readonly total: number;
  /** /3/0/3 Firmware Version before the update, and after it when the job finished. */
  readonly previousVersion?: string;
  readonly version?: string;
  /** Why it failed or was cancelled, or what it waits for. */
  readonly detail?: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

export type FotaEvent =
  | { type: "fota-progress"; endpoint: string; image: string; bytes: number; total: number; transport: FotaTransport }
  | { type: "fota-job"; job: FotaJobSummary }
  | {
      type: "fota-result";
      endpoint: string;
      image: string;
      /** /5/0/5 Update Result: 1 success; 2..9 a failure (the device's last value when it failed before reporting one). */
      result: number;
      success: boolean;
      /** /3/0/3 Firmware Version read after the device came back. */
      version?: string;
      detail?: string;
    };

/** Update Result names (LwM2M object 5, resource 5). */
export const UPDATE_RESULT_NAMES: readonly string[] = Object.freeze([
  "initial",
  "success",
  "not enough flash",
  "out of RAM",
  "connection lost",
  "integrity check failure",
  "unsupported package type",
  "invalid URI",
  "update failed",
  "unsupported protocol",
]);

export function describeUpdateResult(result: number): string {
  return `${result} (${UPDATE_RESULT_NAMES[result] ?? "unknown"})`;
}
