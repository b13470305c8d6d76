import type { Logger } from "../../hal/log.js";
import type { AsyncMutex, Release } from "../../hal/mutex.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { AtError } from "./at-errors.js";
import { AtParser, type FrameHeader, type FrameRecognizer } from "./at-parser.js";
import { utf8Encode } from "../coap/message.js";

export type LineMatch = string | ((line: string) => boolean);
export type FinalVerdict = "ok" | "error" | undefined;

export interface AtCommand {
  /** Without the line end, e.g. `AT+CIPSEND=0,12`. */
  readonly text: string;
  /** What the log shows instead of `text` (secrets masked, hex shown as a length). */
  readonly logText?: string;
  readonly timeoutMs?: number;
  /** Written after the data prompt `>`. */
  readonly payload?: Uint8Array;
  /** Intermediate response lines to keep: prefixes, or a predicate. */
  readonly collect?: readonly string[] | ((line: string) => boolean);
  /** Command-specific final results, checked before OK / ERROR / +CME ERROR. */
  readonly final?: (line: string) => FinalVerdict;
}

export interface AtResponse {
  readonly lines: readonly string[];
  readonly final: string;
}

export type AtCallback = (error: AtError | undefined, response: AtResponse) => void;

export interface AtChannelOptions {
  readonly time: Time;
  readonly log: Logger;
  readonly mutex: AsyncMutex;
  readonly defaultTimeoutMs?: number;
  /** A line meaning "not taken, try again" (ESP8266 `busy p...`). */
  readonly busyPrefix?: string;
  readonly busyPauseMs?: number;
  readonly maxBusyRetries?: number;
  /** Masks a received line for the log (hex payloads). */
  readonly redact?: (line: string) => string;
  readonly maxLineLength?: number;
}

export const AT_CHANNEL_DEFAULTS = Object.freeze({ defaultTimeoutMs: 5000, busyPauseMs: 500, maxBusyRetries: 10 });

const STANDARD_OK = "OK";
const NO_LINES: readonly string[] = Object.freeze([]);

interface Running {
  readonly command: AtCommand;
  readonly callback: AtCallback;
  readonly release: Release;
  readonly lines: string[];
  timer: TimerHandle | undefined;
  payloadWritten: boolean;
  busyRetries: number;
}

interface UrcHandler {
  readonly match: LineMatch;
  readonly handler: (line: string) => void;
}

function matches(match: LineMatch, line: string): boolean {
  return typeof match === "string" ? line.startsWith(match) : match(line);
}

function standardFinal(line: string): FinalVerdict {
  if (line === STANDARD_OK) return "ok";
  if (line === "ERROR" || line.startsWith("+CME ERROR") || line.startsWith("+CMS ERROR")) return "error";
  return undefined;
}

/**
 * Executes AT commands one at a time under the "at" mutex, whose bounded wait
 * queue is the command queue. Response lines are matched to the running
 * command; URCs are dispatched to handlers by prefix at any time, even in the
 * middle of a response; anything else is counted as noise.
 */
export class AtChannel {
  private readonly options: AtChannelOptions;
  private readonly parser: AtParser;
  private readonly urcs: UrcHandler[] = [];
  private frameHandler: ((header: FrameHeader, data: Uint8Array) => void) | undefined;
  private writer: ((data: Uint8Array) => void) | undefined;
  private running: Running | undefined;
  /** Bumped by abort(): commands queued before it fail when their turn comes. */
  private generation = 0;
  private noiseLines = 0;
  private timeouts = 0;
  private consecutive = 0;

  constructor(options: AtChannelOptions) {
    this.options = options;
    this.parser = new AtParser(
      {
        onLine: (line) => this.onLine(line),
        onPrompt: () => this.onPrompt(),
        onFrame: (header, data) => this.onFrame(header, data),
      },
      options.maxLineLength,
    );
  }

  /** Where commands go (the serial port); undefined detaches. */
  attach(writer: ((data: Uint8Array) => void) | undefined): void {
    this.writer = writer;
  }

  feed(chunk: Uint8Array): void {
    this.parser.feed(chunk);
  }

  addFrame(recognizer: FrameRecognizer): void {
    this.parser.addFrame(recognizer);
  }

  onUrc(match: LineMatch, handler: (line: string) => void): void {
    this.urcs.push({ match, handler });
  }

  onFrames(handler: (header: FrameHeader, data: Uint8Array) => void): void {
    this.frameHandler = handler;
  }

  get stats(): { readonly noiseLines: number; readonly timeouts: number; readonly droppedLines: number; readonly rejectedFrames: number } {
    const parser = this.parser.stats;
    return { noiseLines: this.noiseLines, timeouts: this.timeouts, droppedLines: parser.droppedLines, rejectedFrames: parser.rejectedFrames };
  }

  /** Timeouts in a row with no final result in between. */
  get consecutiveTimeouts(): number {
    return this.consecutive;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Queues `command`; a full queue fails at once through `callback` with failure "queue-full". */
  execute(command: AtCommand, callback: AtCallback): void {
    const generation = this.generation;
    try {
      this.options.mutex.lock((release) => {
        if (generation !== this.generation) {
          release();
          this.deliver(callback, new AtError("aborted", `${this.describe(command)}: aborted`), "");
          return;
        }
        this.start(command, callback, release);
      });
    } catch {
      this.deliver(callback, new AtError("queue-full", `${this.describe(command)}: the AT command queue is full`), "");
    }
  }

  /** Fails the running command and every queued one (module reset, stop); forgets partial input. */
  abort(reason: string): void {
    this.generation++;
    this.parser.reset();
    const running = this.running;
    if (running) this.finish(running, new AtError("aborted", `${this.describe(running.command)}: ${reason}`), "");
  }

  private start(command: AtCommand, callback: AtCallback, release: Release): void {
    const running: Running = { command, callback, release, lines: [], timer: undefined, payloadWritten: false, busyRetries: 0 };
    this.running = running;
    this.send(running);
  }

  private send(running: Running): void {
    const { command } = running;
    const writer = this.writer;
    this.options.log.debug(`> ${command.logText ?? command.text}`);
    running.timer = this.options.time.setTimer(command.timeoutMs ?? this.options.defaultTimeoutMs ?? AT_CHANNEL_DEFAULTS.defaultTimeoutMs, () => {
      running.timer = undefined;
      this.timeouts++;
      this.consecutive++;
      this.finish(running, new AtError("timeout", `${this.describe(command)}: no final result in time`), "");
    });
    if (!writer) {
      this.finish(running, new AtError("aborted", `${this.describe(command)}: the port is closed`), "");
      return;
    }
    try {
      writer(utf8Encode(`${command.text}\r\n`));
    } catch (error) {
      this.finish(running, new AtError("aborted", `${this.describe(command)}: ${(error as Error).message}`), "");
    }
  }

  private onLine(line: string): void {
    if (this.options.log.enabled("debug")) {
      const echo = this.running !== undefined && line === this.running.command.text;
      this.options.log.debug(`< ${echo ? "(echo)" : this.options.redact ? this.options.redact(line) : line}`);
    }
    const running = this.running;
    if (running) {
      const { command } = running;
      if (line === command.text) return;
      const verdict = command.final?.(line);
      if (verdict) return this.finalLine(running, verdict, line);
      if (this.collects(command, line)) {
        running.lines.push(line);
        return;
      }
    }
    for (const urc of this.urcs) {
      if (matches(urc.match, line)) {
        urc.handler(line);
        return;
      }
    }
    if (running) {
      const busy = this.options.busyPrefix;
      if (busy && line.startsWith(busy)) return this.retryBusy(running);
      const verdict = standardFinal(line);
      if (verdict) return this.finalLine(running, verdict, line);
    }
    this.noiseLines++;
  }

  private collects(command: AtCommand, line: string): boolean {
    const collect = command.collect;
    if (!collect) return false;
    if (typeof collect === "function") return collect(line);
    for (const prefix of collect) if (line.startsWith(prefix)) return true;
    return false;
  }

  private finalLine(running: Running, verdict: "ok" | "error", line: string): void {
    if (verdict === "ok" && running.command.payload && !running.payloadWritten) {
      // Success before the data prompt cannot be this command's (a late SEND OK of an earlier send, or noise):
      // taking it would report a payload as sent that the module never got, and leave the module waiting for it.
      this.noiseLines++;
      return;
    }
    this.consecutive = 0;
    const error = verdict === "ok" ? undefined : new AtError("error", `${this.describe(running.command)}: ${line}`, line);
    this.finish(running, error, line);
  }

  private retryBusy(running: Running): void {
    this.options.time.clearTimer(running.timer);
    running.timer = undefined;
    if (++running.busyRetries > (this.options.maxBusyRetries ?? AT_CHANNEL_DEFAULTS.maxBusyRetries)) {
      this.finish(running, new AtError("busy", `${this.describe(running.command)}: the module stayed busy`), "");
      return;
    }
    running.timer = this.options.time.setTimer(this.options.busyPauseMs ?? AT_CHANNEL_DEFAULTS.busyPauseMs, () => {
      running.timer = undefined;
      if (this.running === running) this.send(running);
    });
  }

  private onPrompt(): void {
    const running = this.running;
    const payload = running?.command.payload;
    if (!running || !payload || running.payloadWritten || !this.writer) {
      this.noiseLines++;
      return;
    }
    running.payloadWritten = true;
    this.options.log.debug(`> [${payload.length} bytes]`);
    try {
      this.writer(payload);
    } catch (error) {
      this.finish(running, new AtError("aborted", `${this.describe(running.command)}: ${(error as Error).message}`), "");
    }
  }

  private onFrame(header: FrameHeader, data: Uint8Array): void {
    this.options.log.debug(`< [frame: link ${header.link}, ${data.length} bytes]`);
    if (this.frameHandler) this.frameHandler(header, data);
    else this.noiseLines++;
  }

  private finish(running: Running, error: AtError | undefined, final: string): void {
    if (this.running !== running) return;
    this.running = undefined;
    this.options.time.clearTimer(running.timer);
    running.timer = undefined;
    running.release();
    this.deliver(running.callback, error, final, running.lines);
  }

  private deliver(callback: AtCallback, error: AtError | undefined, final: string, lines: readonly string[] = NO_LINES): void {
    try {
      callback(error, { lines, final });
    } catch (thrown) {
      this.options.log.error(`AT callback threw: ${(thrown as Error).message}`);
    }
  }

  private describe(command: AtCommand): string {
    return command.logText ?? command.text;
  }
}
