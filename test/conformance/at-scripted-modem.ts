import { HalError } from "../../hal/errors.js";
import type { SocketAddress } from "../../hal/net.js";
import type { Serial, SerialOptions, SerialPort } from "../../hal/serial.js";
import type { Time } from "../../hal/time.js";
import type { ModemKind } from "../../modules/at/modem-settings.js";
import { answer, type Answer } from "./at-scripted-answers.js";

export interface SentDatagram {
  readonly link: number;
  readonly data: Uint8Array;
  readonly remote: SocketAddress | undefined;
}

export interface ScriptedLink {
  readonly protocol: string;
  readonly remote: SocketAddress;
  /** BC95: datagrams waiting for NSORF. */
  readonly inbox: { data: Uint8Array; from: SocketAddress }[];
}

export function bytes(text: string): Uint8Array {
  const data = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) data[i] = text.charCodeAt(i) & 0xff;
  return data;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * An in-memory module on a HAL Serial that answers per
 * modules/at/command-sets.md, with hooks to inject the faults the adaptors
 * must survive. It runs in XS as well as Node (no Node APIs).
 */
export class ScriptedModem implements Serial {
  readonly kind: ModemKind;
  readonly time: Time;
  /** Command lines as received, in order. */
  readonly commands: string[] = [];
  readonly sent: SentDatagram[] = [];
  readonly links = new Map<number, ScriptedLink>();
  echo: boolean;
  /** No answer at all (a hung module). */
  silent = false;
  /** ESP8266: the next CWJAP fails with +CWJAP:2 (wrong password). */
  wrongPassword = false;
  /** ESP8266: the next n commands answer `busy p...` and are not taken. */
  busyCount = 0;
  /** SIM900A: CREG? reports "searching" this many times first. */
  searchingPolls = 0;
  /** The next command starting with this answers ERROR. */
  errorOnce: string | undefined;
  /** Put inside the next multi-line response, between its lines. */
  interleave: string | undefined;
  /** Every output goes to the host one byte per onReceive. */
  bytewise = false;
  openCount = 0;
  private options: SerialOptions | undefined;
  private input = "";
  /** The LF of the CR LF that ended a command is not payload. */
  private skipLf = false;
  private payload: { link: number; length: number; remote: SocketAddress | undefined; data: number[]; after: (link: number) => string[] } | undefined;

  constructor(kind: ModemKind, time: Time) {
    this.kind = kind;
    this.time = time;
    this.echo = kind !== "bc95";
  }

  get isOpen(): boolean {
    return this.options !== undefined;
  }

  open(options: SerialOptions): SerialPort {
    if (this.options) throw new HalError("busy", "scripted modem port already open");
    this.options = options;
    this.openCount++;
    let closed = false;
    return {
      write: (data) => {
        if (closed) throw new HalError("closed", "port closed");
        this.fromHost(data);
      },
      close: () => {
        closed = true;
        this.options = undefined;
      },
      get closed() {
        return closed;
      },
    };
  }

  /** Raw bytes to the host (noise, hand-made URCs). */
  inject(data: Uint8Array | string, delayMs = 1): void {
    const chunk = typeof data === "string" ? bytes(data) : data;
    this.time.setTimer(delayMs, () => {
      const options = this.options;
      if (!options) return;
      if (this.bytewise) for (const byte of chunk) options.onReceive(Uint8Array.of(byte));
      else options.onReceive(chunk.slice());
    });
  }

  lines(lines: readonly string[], delayMs = 1): void {
    if (lines.length > 0) this.inject(lines.map((line) => `\r\n${line}\r\n`).join(""), delayMs);
  }

  /** Data from the network on `link`: +IPD / +RECEIVE frames, or +NSONMI and a datagram for NSORF. */
  deliver(link: number, data: Uint8Array, from: SocketAddress): void {
    if (this.kind === "esp8266") this.inject(concat(bytes(`\r\n+IPD,${link},${data.length},${from.address},${from.port}:`), data));
    else if (this.kind === "sim900a") this.inject(concat(bytes(`\r\n+RECEIVE,${link},${data.length}:\r\n`), data));
    else {
      this.links.get(link)?.inbox.push({ data: data.slice(), from });
      this.lines([`+NSONMI:${link},${data.length}`]);
    }
  }

  /** A spontaneous restart: echo on, no links, the start-up lines. */
  reset(delayMs = 1): void {
    this.links.clear();
    this.echo = this.kind !== "bc95";
    this.payload = undefined;
    this.input = "";
    const startup = this.kind === "esp8266" ? ["ready"] : this.kind === "sim900a" ? ["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready"] : ["REBOOT_CAUSE_APPLICATION_AT", "Neul ", "OK"];
    this.lines(startup, delayMs);
  }

  dropLink(link: number): void {
    this.links.delete(link);
    this.lines([this.kind === "esp8266" ? `${link},CLOSED` : `${link}, CLOSED`]);
  }

  /** Every link gone: `WIFI DISCONNECT` (ESP8266) or `+PDP: DEACT` (SIM900A). */
  loseNetwork(): void {
    this.links.clear();
    this.lines([this.kind === "esp8266" ? "WIFI DISCONNECT" : "+PDP: DEACT"]);
  }

  private fromHost(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      if (this.skipLf) {
        this.skipLf = false;
        if (data[i] === 10) continue;
      }
      const payload = this.payload;
      if (payload) {
        payload.data.push(data[i]!);
        if (payload.data.length === payload.length) {
          this.payload = undefined;
          this.sent.push({ link: payload.link, data: Uint8Array.from(payload.data), remote: payload.remote });
          this.respond(payload.after(payload.link));
        }
        continue;
      }
      const char = String.fromCharCode(data[i]!);
      if (char === "\r" || char === "\n") {
        const line = this.input;
        this.input = "";
        this.skipLf = char === "\r";
        if (line.length > 0) this.command(line);
      } else {
        this.input += char;
      }
    }
  }

  private command(line: string): void {
    this.commands.push(line);
    if (this.silent) return;
    const out: string[] = [];
    if (this.echo) this.inject(`${line}\r\n`);
    if (this.busyCount > 0) {
      this.busyCount--;
      this.lines(["busy p..."]);
      return;
    }
    if (this.errorOnce !== undefined && line.startsWith(this.errorOnce)) {
      this.errorOnce = undefined;
      this.lines(["ERROR"]);
      return;
    }
    const result: Answer = answer(this, line);
    out.push(...result.lines);
    this.respond(out);
    if (result.prompt) {
      this.inject("> ");
      this.payload = { link: result.prompt.link, length: result.prompt.length, remote: result.prompt.remote, data: [], after: result.prompt.after };
      if (result.prompt.length === 0) this.fromHost(new Uint8Array(0));
    }
    if (result.later) this.lines(result.later.lines, result.later.delayMs);
    if (result.restart) {
      // Boot noise: ROM output at 74880 baud read at the module's rate.
      this.inject(Uint8Array.of(0xe0, 0x1c, 0x8c, 0x02, 0xfe, 0x0d, 0x8c, 0x7e, 0x3e, 0x4f, 0x4b), 2);
      this.reset(3);
    }
  }

  private respond(out: string[]): void {
    const urc = this.interleave;
    if (urc !== undefined && out.length > 0) {
      this.interleave = undefined;
      out.splice(Math.max(0, out.length - 1), 0, urc);
    }
    this.lines(out);
  }
}
