import { FINAL_STATUSES, SendStatus, type ReportType } from "./constants.js";

export type ReportCallback = (type: ReportType, cookie: number, status: SendStatus) => void;

/** data_report_t */
export interface DataReport {
  readonly type: ReportType;
  readonly cookie: number;
  readonly buf: Uint8Array;
  readonly callback?: ReportCallback;
}

export interface QueuedReport {
  readonly report: DataReport;
  /** Last status told to the callback. */
  status: SendStatus | undefined;
}

/**
 * The reports of one URI waiting to be sent, bounded by the storing count.
 * Each report's callback hears SEND_PENDING while it waits for an observer,
 * SENT_WAIT_RESPONSE once it is on the wire, and exactly one final status.
 */
export class ReportQueue {
  private readonly waiting: QueuedReport[] = [];
  private readonly capacity: number;
  inFlight: QueuedReport | undefined;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.waiting.length + (this.inFlight ? 1 : 0);
  }

  /** False when full (the caller answers ATINY_RESOURCE_NOT_ENOUGH). */
  push(report: DataReport): QueuedReport | undefined {
    if (this.length >= this.capacity) return undefined;
    const queued: QueuedReport = { report: { ...report, buf: report.buf.slice() }, status: undefined };
    this.waiting.push(queued);
    return queued;
  }

  /** The report to send next, still waiting. */
  peek(): QueuedReport | undefined {
    return this.inFlight ? undefined : this.waiting[0];
  }

  /** Moves the next report on the wire. */
  next(): QueuedReport | undefined {
    if (this.inFlight) return undefined;
    this.inFlight = this.waiting.shift();
    return this.inFlight;
  }

  /** The report in flight never reached the wire (its observer went away): it waits again, first in line. */
  requeue(queued: QueuedReport): void {
    if (this.inFlight !== queued) return;
    this.inFlight = undefined;
    this.waiting.unshift(queued);
  }

  /** Reports a status; final statuses end the report (later ones are ignored). */
  tell(queued: QueuedReport, status: SendStatus): void {
    if (queued.status !== undefined && FINAL_STATUSES.indexOf(queued.status) >= 0) return;
    if (queued.status === status && status === SendStatus.SendPending) return;
    queued.status = status;
    if (FINAL_STATUSES.indexOf(status) >= 0 && this.inFlight === queued) this.inFlight = undefined;
    queued.report.callback?.(queued.report.type, queued.report.cookie, status);
  }

  pending(): QueuedReport[] {
    return this.waiting.slice();
  }

  /** Ends every report with `status` (deinit). */
  drain(status: SendStatus, inFlightStatus: SendStatus): void {
    if (this.inFlight) this.tell(this.inFlight, inFlightStatus);
    for (const queued of this.waiting.splice(0)) this.tell(queued, status);
  }
}
