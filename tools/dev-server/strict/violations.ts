import type { Peer } from "../../../modules/coap/message.js";

/** One rule a peer broke: which rule (RFC or TS section) and what the peer sent. */
export interface Problem {
  readonly rule: string;
  readonly message: string;
}

/** A recorded violation, as the HTTP API and `server.violations` report it. */
export interface Violation extends Problem {
  readonly endpoint?: string;
  /** "address:port" of the client. */
  readonly peer: string;
  /** ISO 8601 time it was seen. */
  readonly at: string;
}

export interface ViolationReport {
  /** Every violation seen since the server started (keeps counting past the list's bound). */
  readonly count: number;
  /** The most recent violations, oldest first. */
  readonly violations: readonly Violation[];
}

/** How many violations the list keeps. */
export const MAX_KEPT_VIOLATIONS = 200;

/** Counts violations and keeps the last MAX_KEPT_VIOLATIONS. */
export class ViolationLog {
  private readonly kept: Violation[] = [];
  private total = 0;
  private readonly limit: number;
  private readonly onRecord: (violation: Violation) => void;

  constructor(onRecord: (violation: Violation) => void, limit = MAX_KEPT_VIOLATIONS) {
    this.onRecord = onRecord;
    this.limit = limit;
  }

  record(problem: Problem, peer: Peer, endpoint: string | undefined, nowMs: number): Violation {
    const violation: Violation = { ...(endpoint !== undefined ? { endpoint } : {}), peer: `${peer.address}:${peer.port}`, rule: problem.rule, message: problem.message, at: new Date(nowMs).toISOString() };
    this.total++;
    this.kept.push(violation);
    if (this.kept.length > this.limit) this.kept.splice(0, this.kept.length - this.limit);
    this.onRecord(violation);
    return violation;
  }

  get count(): number {
    return this.total;
  }

  report(): ViolationReport {
    return { count: this.total, violations: this.kept.slice() };
  }
}

/** The console line for a violation: `[strict] dev1: RFC 7252 §4.4: ...`. */
export function describeViolation(violation: Violation): string {
  return `[strict] ${violation.endpoint ?? violation.peer}: ${violation.rule}: ${violation.message}`;
}

/** A message's text for a log line: printable ASCII kept, the rest escaped, long texts cut. */
export function quoteForLog(text: string, max = 160): string {
  const printable = text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
