import type { Clock } from "./time.js";

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = Object.freeze({
  error: 0,
  warn: 1,
  info: 2,
  debug: 3,
  trace: 4,
});

const LEVEL_LETTER: Readonly<Record<LogLevel, string>> = Object.freeze({
  error: "E",
  warn: "W",
  info: "I",
  debug: "D",
  trace: "T",
});

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(LEVEL_RANK, value);
}

/** Where finished console lines go: trace() on Moddable, the host console elsewhere. */
export interface LogSink {
  writeLine(line: string): void;
}

/**
 * Levelled logger writing serial-console lines:
 * `[    12.345] I coap: retransmitting MID 4711 (attempt 2/4)`
 * The time is seconds since start from the monotonic clock.
 */
export class Logger {
  private readonly sink: LogSink;
  private readonly clock: Clock;
  private readonly tag: string;
  private readonly state: { level: LogLevel };

  constructor(sink: LogSink, clock: Clock, level: LogLevel = "info", tag = "", state?: { level: LogLevel }) {
    this.sink = sink;
    this.clock = clock;
    this.tag = tag;
    this.state = state ?? { level };
  }

  /** A logger for one component; it shares the level of its parent. */
  child(tag: string): Logger {
    return new Logger(this.sink, this.clock, this.state.level, this.tag ? `${this.tag}/${tag}` : tag, this.state);
  }

  get level(): LogLevel {
    return this.state.level;
  }

  set level(level: LogLevel) {
    if (!isLogLevel(level)) throw new RangeError(`unknown log level "${String(level)}"`);
    this.state.level = level;
  }

  enabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] <= LEVEL_RANK[this.state.level];
  }

  error(message: string): void {
    this.write("error", message);
  }
  warn(message: string): void {
    this.write("warn", message);
  }
  info(message: string): void {
    this.write("info", message);
  }
  debug(message: string): void {
    this.write("debug", message);
  }
  trace(message: string): void {
    this.write("trace", message);
  }

  write(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    const ms = this.clock.monotonicMs();
    const seconds = (ms / 1000).toFixed(3);
    const stamp = seconds.length < 10 ? "          ".slice(seconds.length) + seconds : seconds;
    const tag = this.tag ? `${this.tag}: ` : "";
    this.sink.writeLine(`[${stamp}] ${LEVEL_LETTER[level]} ${tag}${message}`);
  }
}
