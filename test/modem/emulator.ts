/**
 * The part every modem emulator shares: it assembles the host's commands
 * (ended by CR or CR LF), echoes them while echo is on, reads the exact data
 * bytes after a prompt, frames responses as CR LF line CR LF, keeps a trace
 * of the dialogue, and injects the faults of issue 11 on demand. The command
 * sets themselves are in esp8266.ts, sim900a.ts and bc95.ts, after
 * modules/at/command-sets.md.
 */

import { latin1, printable } from "./text.js";

export type ModemName = "esp8266" | "sim900a" | "bc95";

/** One step of the dialogue: a command taken, data bytes taken, bytes written, a fault, a remark. */
export interface TraceEntry {
  /** Milliseconds since the emulator started. */
  readonly ms: number;
  readonly kind: "command" | "data" | "output" | "fault" | "note";
  /** Printable text (CR as \r, LF as \n, other control and non-ASCII bytes as \xNN). */
  readonly text: string;
}

/** Where the emulator's bytes go (the modem end of the pty). */
export interface ModemOutput {
  write(data: Uint8Array): void;
}

export { latin1, parseArgs, printable } from "./text.js";

/** Thrown inside a running command when the module resets or closes under it. */
export class Aborted extends Error {}

const CR = 13;
const LF = 10;

export abstract class ModemEmulator {
  abstract readonly modem: ModemName;
  readonly trace: TraceEntry[] = [];
  /** Echo of commands, as the module has it now (ATE0 turns it off, a reset on again). */
  protected echo: boolean;
  private readonly echoAtStart: boolean;
  private readonly listeners = new Set<(entry: TraceEntry) => void>();
  private readonly started = Date.now();
  private output: ModemOutput | undefined;
  private line: number[] = [];
  private afterCR = false;
  private data: { want: number; bytes: number[]; resolve: (data: Uint8Array) => void } | undefined;
  private running = false;
  private generation = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<() => void>();
  private closed = false;
  // Faults.
  private errorsLeft = 0;
  private silentUntil = 0;
  private splitNext = false;
  private interleaveNext = false;
  private held: Uint8Array[] = [];
  private bytesPerSecond = 0;
  private readonly queue: { bytes: Uint8Array; split: boolean }[] = [];
  private pumping = false;

  constructor(echo: boolean) {
    this.echo = echo;
    this.echoAtStart = echo;
  }

  /** Commands of the module's set; may await (wait, readData). */
  protected abstract execute(command: string): void | Promise<void>;
  /** Loses every link and all state (a reset). */
  protected abstract resetState(): void;
  /** Writes the module's start-up lines (after resetState). */
  protected abstract startUp(): void;
  /** A link drop as the module reports it. */
  protected abstract dropLinks(): void;
  /** The answer to a command that arrives while another runs; undefined: ignored. */
  protected busyReply(): string | undefined {
    return undefined;
  }

  /** Connects the emulator to the modem end of the line. */
  attach(output: ModemOutput): void {
    this.output = output;
  }

  /** Receives a listener for each new trace entry; returns its removal. */
  onTrace(listener: (entry: TraceEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Bytes from the host. */
  input(data: Uint8Array): void {
    if (this.closed) return;
    if (this.silent()) {
      this.record("note", `ignored while silent: ${printable(data)}`);
      return;
    }
    for (const byte of data) {
      // The LF of a command's CR LF is no data byte, nor a second line end.
      const afterCR = this.afterCR;
      this.afterCR = false;
      if (byte === LF && afterCR) continue;
      if (this.data) {
        this.data.bytes.push(byte);
        if (this.data.bytes.length === this.data.want) {
          const done = this.data;
          this.data = undefined;
          const bytes = Uint8Array.from(done.bytes);
          this.record("data", `${bytes.length} bytes: ${printable(bytes)}`);
          done.resolve(bytes);
        }
      } else if (byte === CR || byte === LF) {
        this.afterCR = byte === CR;
        if (this.line.length > 0) this.dispatch(String.fromCharCode(...this.line));
        this.line = [];
      } else if (this.line.length < 4096) this.line.push(byte);
    }
  }

  /** Stops every timer and link; the emulator answers nothing more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.stopTimers();
    this.resetState();
  }

  // Faults, for tests and for the CLI's stdin commands.

  /** Writes `count` bytes of noise (bytes 0x80–0xff, never a line a module would send). */
  injectGarbage(count: number): void {
    const bytes = new Uint8Array(count);
    for (let i = 0; i < count; i++) bytes[i] = 0x80 + Math.floor(Math.random() * 0x80);
    this.record("fault", `garbage ${count}`);
    this.enqueue(bytes, false);
  }
  /** The next URC or data frame goes out in three chunks, 20 ms apart. */
  splitNextUrc(): void {
    this.record("fault", "split the next URC");
    this.splitNext = true;
  }
  /** The next URC or data frame goes out inside the next command's response, before its final result. */
  interleaveNextUrc(): void {
    this.record("fault", "interleave the next URC");
    this.interleaveNext = true;
  }
  /** The next `count` commands answer ERROR. */
  errorNext(count: number): void {
    this.record("fault", `ERROR for the next ${count} commands`);
    this.errorsLeft = count;
  }
  /** Answers nothing and ignores its input for `ms` (URCs are lost too). */
  silence(ms: number): void {
    this.record("fault", `silence ${ms} ms`);
    this.silentUntil = Date.now() + ms;
  }
  /** A spontaneous reset: links and state lost, echo on again, the start-up lines. */
  reset(): void {
    this.record("fault", "reset");
    this.restart();
  }
  /** The network drops every link. */
  drop(): void {
    this.record("fault", "drop links");
    this.dropLinks();
  }
  /** Output at most `bytesPerSecond` (0: full speed), as a slow baud rate would. */
  throttle(bytesPerSecond: number): void {
    this.record("fault", bytesPerSecond > 0 ? `throttle to ${bytesPerSecond} bytes/s` : "full speed");
    this.bytesPerSecond = Math.max(0, bytesPerSecond);
  }

  // For the command sets.

  /** Restarts the module: running commands end, links and state go, echo is on, start-up lines follow. */
  protected restart(): void {
    this.generation++;
    this.stopTimers();
    this.running = false;
    this.data = undefined;
    this.line = [];
    this.held = [];
    this.interleaveNext = false;
    this.errorsLeft = 0;
    this.silentUntil = 0;
    this.resetState();
    this.echo = this.echoAtStart;
    this.startUp();
  }

  /** Response lines, each framed CR LF line CR LF. */
  protected respond(...lines: string[]): void {
    for (const line of lines) this.enqueue(latin1(`\r\n${line}\r\n`), false);
  }
  /** The final result of a command; URCs held for interleaving go out just before it. */
  protected final(line: string): void {
    for (const urc of this.held.splice(0)) this.enqueue(urc, false);
    this.respond(line);
  }
  /** Bytes as they are (a prompt, boot noise). */
  protected writeRaw(data: string | Uint8Array): void {
    this.enqueue(typeof data === "string" ? latin1(data) : data, false);
  }
  /** An unsolicited line (framed) or frame (raw bytes); split and interleave faults apply to it. */
  protected urc(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? latin1(`\r\n${data}\r\n`) : data;
    if (this.silent()) {
      this.record("note", `lost while silent: ${printable(bytes)}`);
      return;
    }
    if (this.interleaveNext) {
      this.interleaveNext = false;
      this.held.push(bytes);
      // Nobody sends a command: it goes out alone after a while.
      this.after(3000, () => this.held.splice(0).forEach((urc) => this.enqueue(urc, false)));
      return;
    }
    const split = this.splitNext;
    this.splitNext = false;
    this.enqueue(bytes, split);
  }
  /** Waits for exactly `length` data bytes from the host (after a prompt); rejects with Aborted on a reset. */
  protected readData(length: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (length === 0) return resolve(new Uint8Array(0));
      const abort = () => reject(new Aborted());
      this.aborts.add(abort);
      this.data = {
        want: length,
        bytes: [],
        resolve: (data) => {
          this.aborts.delete(abort);
          resolve(data);
        },
      };
    });
  }
  /** Waits `ms`; rejects with Aborted when the module resets or closes meanwhile. */
  protected wait(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const abort = () => reject(new Aborted());
      this.aborts.add(abort);
      this.after(ms, () => {
        this.aborts.delete(abort);
        resolve();
      });
    });
  }
  /** Runs `callback` after `ms` unless the module resets or closes first. */
  protected after(ms: number, callback: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) callback();
    }, ms);
    this.timers.add(timer);
  }
  protected note(text: string): void {
    this.record("note", text);
  }
  /** Milliseconds since the emulator started. */
  protected get uptimeMs(): number {
    return Date.now() - this.started;
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const aborts = [...this.aborts];
    this.aborts.clear();
    for (const abort of aborts) abort();
  }

  private silent(): boolean {
    return Date.now() < this.silentUntil;
  }

  private dispatch(command: string): void {
    this.record("command", command);
    if (this.echo) this.writeRaw(`${command}\r\n`);
    if (this.running) {
      const busy = this.busyReply();
      if (busy) this.respond(busy);
      else this.note("ignored: a command is still running");
      return;
    }
    if (this.errorsLeft > 0) {
      this.errorsLeft--;
      this.final("ERROR");
      return;
    }
    const generation = this.generation;
    let result: void | Promise<void>;
    try {
      result = this.execute(command);
    } catch (error) {
      this.note(`command failed in the emulator: ${String(error)}`);
      return;
    }
    if (!(result instanceof Promise)) return;
    this.running = true;
    result
      .catch((error: unknown) => {
        if (!(error instanceof Aborted)) this.note(`command failed in the emulator: ${String(error)}`);
      })
      .finally(() => {
        if (generation === this.generation) this.running = false;
      });
  }

  private record(kind: TraceEntry["kind"], text: string): void {
    const entry = { ms: this.uptimeMs, kind, text };
    this.trace.push(entry);
    if (this.trace.length > 10000) this.trace.splice(0, 1000);
    for (const listener of this.listeners) listener(entry);
  }

  private enqueue(bytes: Uint8Array, split: boolean): void {
    if (this.closed || bytes.length === 0) return;
    if (this.silent()) return;
    this.queue.push({ bytes, split });
    if (!this.pumping) void this.pump();
  }

  /** Writes the queue in order, in chunks when split or throttled. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const { bytes, split } = this.queue.shift()!;
        this.record("output", printable(bytes));
        const pieces = split ? splitInThree(bytes) : [bytes];
        for (const piece of pieces) {
          if (this.bytesPerSecond > 0) {
            const step = Math.max(1, Math.round(this.bytesPerSecond / 50));
            for (let at = 0; at < piece.length; at += step) {
              this.write(piece.subarray(at, at + step));
              await sleep((1000 * Math.min(step, piece.length - at)) / this.bytesPerSecond);
            }
          } else this.write(piece);
          if (split) await sleep(20);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private write(bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      this.output?.write(bytes);
    } catch (error) {
      this.note(`write failed: ${String(error)}`);
    }
  }
}

function splitInThree(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < 3) return [bytes];
  const a = Math.max(1, Math.floor(bytes.length / 3));
  const b = Math.max(a + 1, Math.floor((2 * bytes.length) / 3));
  return [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
