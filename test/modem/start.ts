import { NodeSerial } from "../../hal/host/node/node-serial.js";
import type { SerialPort } from "../../hal/serial.js";
import { Bc95Emulator, type Bc95Options } from "./bc95.js";
import type { ModemEmulator, ModemName, TraceEntry } from "./emulator.js";
import { Esp8266Emulator, type Esp8266Options } from "./esp8266.js";
import { createPtyPair, type PtyPair } from "./pty-pair.js";
import { Sim900aEmulator, type Sim900aOptions } from "./sim900a.js";

export type { ModemEmulator, ModemName, TraceEntry } from "./emulator.js";
export { Bc95Emulator } from "./bc95.js";
export { Esp8266Emulator } from "./esp8266.js";
export { Sim900aEmulator } from "./sim900a.js";

export const MODEMS: readonly ModemName[] = ["esp8266", "sim900a", "bc95"];

export interface StartEmulatorOptions extends Esp8266Options, Sim900aOptions, Bc95Options {
  readonly modem: ModemName;
  /** The TTY the emulator answers on; default: a new pty pair whose other end is `devicePath`. */
  readonly tty?: string;
  /** Baud rate the emulator's end is set to (default 115200; a pty passes bytes at any rate). */
  readonly baud?: number;
  /** Each line of the dialogue trace, as formatted by formatTrace (the CLI's --log). */
  readonly log?: (line: string) => void;
  /** The start-up lines of the module (ESP8266 boot noise and ready, SIM900A RDY..., BC95 REBOOT_CAUSE...) once the line is open. */
  readonly startUpLines?: boolean;
}

export interface RunningEmulator {
  /** The TTY the firmware opens as its UART (FirmwareHostOptions.serialPath); undefined with `tty`. */
  readonly devicePath: string | undefined;
  /** The TTY the emulator answers on. */
  readonly modemPath: string;
  readonly emulator: ModemEmulator;
  /** Stops the emulator, its links and its pty pair. */
  close(): Promise<void>;
}

export function createEmulator(options: StartEmulatorOptions): ModemEmulator {
  switch (options.modem) {
    case "esp8266":
      return new Esp8266Emulator(options);
    case "sim900a":
      return new Sim900aEmulator(options);
    case "bc95":
      return new Bc95Emulator(options);
    default:
      throw new Error(`unknown modem "${String(options.modem)}" (esp8266, sim900a or bc95)`);
  }
}

/** A modem emulator answering on a pty (or the TTY given); the firmware opens `devicePath`. */
export async function startEmulator(options: StartEmulatorOptions): Promise<RunningEmulator> {
  const emulator = createEmulator(options);
  const log = options.log;
  if (log) emulator.onTrace((entry) => log(formatTrace(options.modem, entry)));
  let pair: PtyPair | undefined;
  let port: SerialPort | undefined;
  try {
    if (!options.tty) pair = await createPtyPair();
    const modemPath = options.tty ?? pair!.modemPath;
    port = new NodeSerial(modemPath).open({
      baud: options.baud ?? 115200,
      onReceive: (data) => emulator.input(data),
      onError: (error) => log?.(`[${options.modem}] serial port: ${error.message}`),
    });
    emulator.attach(port);
    if (options.startUpLines) emulator.reset();
    let closing: Promise<void> | undefined;
    const opened = port;
    return {
      devicePath: pair?.devicePath,
      modemPath,
      emulator,
      close() {
        closing ??= (async () => {
          emulator.close();
          opened.close();
          await (opened as { whenClosed?: Promise<void> }).whenClosed;
          await pair?.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    emulator.close();
    port?.close();
    await pair?.close();
    throw error;
  }
}

/** One trace entry as a console line: `[esp8266] <- AT+CWMODE=1`, `-> \r\nOK\r\n`, `!! reset`. */
export function formatTrace(modem: ModemName, entry: TraceEntry): string {
  const arrow = { command: "<-", data: "<=", output: "->", fault: "!!", note: "--" }[entry.kind];
  return `[${modem} ${(entry.ms / 1000).toFixed(3)}] ${arrow} ${entry.text}`;
}

export const FAULT_HELP = `commands:
  garbage N     write N bytes of noise
  split         write the next URC or data frame in three chunks, 20 ms apart
  interleave    put the next URC or data frame inside the next command's response
  error N       answer ERROR to the next N commands
  silence MS    answer nothing and ignore input for MS milliseconds
  reset         a spontaneous reset (links and state lost, start-up lines)
  drop          the network drops every link (ESP8266 id,CLOSED; SIM900A +PDP: DEACT; BC95 sockets and attach lost)
  baud N        output at N baud (N/10 bytes/s, 8N1); baud 0: full speed
  help          this list
  quit          stop`;

/** Applies one of the CLI's stdin fault commands (see FAULT_HELP); returns what to print. */
export function applyFaultCommand(emulator: ModemEmulator, line: string): string {
  const [word = "", value] = line.trim().split(/\s+/);
  const n = Number(value);
  const needsNumber = ["garbage", "error", "silence", "baud"].includes(word);
  if (needsNumber && !(Number.isFinite(n) && n >= 0)) return `${word} needs a number`;
  switch (word) {
    case "":
      return "";
    case "garbage":
      emulator.injectGarbage(n);
      return `wrote ${n} bytes of noise`;
    case "split":
      emulator.splitNextUrc();
      return "the next URC will be split";
    case "interleave":
      emulator.interleaveNextUrc();
      return "the next URC goes inside the next response";
    case "error":
      emulator.errorNext(n);
      return `the next ${n} commands answer ERROR`;
    case "silence":
      emulator.silence(n);
      return `silent for ${n} ms`;
    case "reset":
      emulator.reset();
      return "reset";
    case "drop":
      emulator.drop();
      return "links dropped";
    case "baud":
      emulator.throttle(n / 10);
      return n > 0 ? `output at ${n} baud` : "output at full speed";
    case "help":
      return FAULT_HELP;
    default:
      return `unknown command "${word}" (help lists them)`;
  }
}
