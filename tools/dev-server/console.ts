/**
 * The development server's console: commands typed on standard input, for
 * `npm run dev-server` and the server inside `npm start` alike. Each command
 * checks its arguments and answers a wrong call with its usage line.
 */
import readline from "node:readline";
import type { Readable } from "node:stream";
import { isLogLevel, type Logger } from "../../hal/log.js";
import { ContentFormat } from "../../modules/coap/constants.js";
import { fromHex } from "../../modules/coap/message.js";
import { parsePathString } from "../../modules/lwm2m/path.js";
import { FormatError, parseFormat as parseContentFormat } from "./content-formats.js";
import { encodeCreatePayload } from "./create-payload.js";
import { describeEvent, show } from "./describe.js";
import { fotaCommand, FOTA_USAGE } from "./fota/fota-cli.js";
import type { ProgressDisplay } from "./fota/progress-display.js";
import { isQueueMode, parseTimeoutSeconds } from "./request-queue.js";
import type { LwM2mDevServer, ServerEvent } from "./server.js";

export interface ConsoleOptions {
  readonly server: LwM2mDevServer;
  /** The server's log (for the "log" command). */
  readonly log?: Logger;
  /** "quit": stop the program as Ctrl-C does. */
  readonly quit: () => void;
  /** `fota FILE …` for the one device of npm start (tools/start-fota.ts); undefined when the words are the usual `fota EP IMAGE`. */
  readonly demoFota?: (words: readonly string[]) => string | undefined;
}

/** A command's arguments were wrong: the answer is its usage line. */
class UsageError extends Error {}

interface Command {
  readonly usage: string;
  readonly help: string;
  /** Options taken (each with a value): "--timeout", "--expires", ... */
  readonly options?: readonly string[];
  /** Fewest and most positional words after the command (most: Infinity for free text). */
  readonly min: number;
  readonly max: number;
  readonly run: (ctx: ConsoleOptions, args: string[], options: ReadonlyMap<string, string>) => Promise<string> | string;
}

const TIMEOUT = "--timeout";
/** The longest command expiry the console takes (30 days). */
const MAX_EXPIRES_S = 30 * 24 * 3600;

/**
 * A Content-Format from the console: READ EP PATH FORMAT, --format F.
 *
 * SWITCH TO THE SHARED FORMAT TABLE HERE: the dm branch adds the table of
 * format names (senml-json, SENML_CBOR, tlv, text, opaque, cbor, lwm2m-cbor)
 * shared with the HTTP API; until it is merged, numbers only. This is the
 * console's only place that reads a format.
 */
/** A Content-Format number or name (content-formats.ts); a bad one is a usage error listing the names. */
export function parseFormat(text: string): number {
  try {
    return parseContentFormat(text)!;
  } catch (error) {
    if (error instanceof FormatError) throw new UsageError(error.message);
    throw error;
  }
}


function path(text: string): string {
  if (!parsePathString(text)) throw new UsageError(`"${text}" is not an LwM2M path (/OBJ[/INST[/RES[/RI]]])`);
  return text;
}

function seconds(options: ReadonlyMap<string, string>, name: string): number | undefined {
  const value = options.get(name);
  if (value === undefined) return undefined;
  try {
    return parseTimeoutSeconds(value, name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A device-management call with the --timeout given, if any. */
function dm<T>(ctx: ConsoleOptions, options: ReadonlyMap<string, string>, call: () => Promise<T>): Promise<T> {
  return ctx.server.requests.withTimeout(seconds(options, TIMEOUT), call);
}

function clientLine(server: LwM2mDevServer, endpoint: string): string {
  const c = server.registry.get(endpoint)!;
  const presence = server.requests.presence(endpoint);
  const queue = isQueueMode(c) ? ` queue mode, ${presence?.awake === false ? "sleeping" : "awake"}${presence?.waiting ? ` (${presence.waiting} request(s) waiting)` : ""}` : "";
  const dropped = server.eventLog.droppedCounts()[endpoint];
  return `${c.endpoint} ${c.peer.address}:${c.peer.port} lt=${c.lifetime} b=${c.binding} lwm2m=${c.version} ${c.pskIdentity !== undefined ? `dtls(${c.pskIdentity})` : "udp"}${queue}${dropped ? `; ${dropped} event(s) not shown (flood control)` : ""}`;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  clients: { usage: "clients", help: "registered clients (queue mode: awake or sleeping; events dropped\nby flood control)", min: 0, max: 0, run: ({ server }) => server.registry.list().map((c) => clientLine(server, c.endpoint)).join("\n") || "(none)" },
  read: {
    usage: "read EP PATH [FORMAT] [--timeout S]",
    help: "e.g. read dev1 /3/0 11542",
    options: [TIMEOUT],
    min: 2,
    max: 3,
    run: async (c, [endpoint, target, format], options) => show(await dm(c, options, () => c.server.read(endpoint!, path(target!), format === undefined ? undefined : parseFormat(format)))),
  },
  discover: { usage: "discover EP PATH [--timeout S]", help: "", options: [TIMEOUT], min: 2, max: 2, run: async (c, [endpoint, target], options) => show(await dm(c, options, () => c.server.discover(endpoint!, path(target!)))) },
  write: {
    usage: "write EP PATH VALUE... [--format F] [--timeout S]",
    help: "e.g. write dev1 /3/0/14 +02:00",
    options: ["--format", TIMEOUT],
    min: 3,
    max: Infinity,
    run: async (c, [endpoint, target, ...value], options) => {
      const format = options.get("--format");
      return show(await dm(c, options, () => c.server.write(endpoint!, path(target!), value.join(" "), format === undefined ? {} : { format: parseFormat(format) })));
    },
  },
  exec: { usage: "exec EP PATH [ARGS...] [--timeout S]", help: "e.g. exec dev1 /3/0/4", options: [TIMEOUT], min: 2, max: Infinity, run: async (c, [endpoint, target, ...args], options) => show(await dm(c, options, () => c.server.execute(endpoint!, path(target!), args.join(" ")))) },
  attrs: {
    usage: "attrs EP PATH NAME=VALUE... [--timeout S]",
    help: "e.g. attrs dev1 /3/0/9 pmin=5 pmax=60 (NAME= clears)",
    options: [TIMEOUT],
    min: 3,
    max: Infinity,
    run: async (c, [endpoint, target, ...pairs], options) => {
      const attributes: Record<string, number | null> = {};
      for (const pair of pairs) {
        const match = /^(pmin|pmax|gt|lt|st|epmin|epmax)=(.*)$/.exec(pair);
        if (!match) throw new UsageError(`"${pair}" is not NAME=VALUE with NAME one of pmin, pmax, gt, lt, st, epmin, epmax`);
        if (match[2] !== "" && !Number.isFinite(Number(match[2]))) throw new UsageError(`${match[1]} needs a number, got "${match[2]}"`);
        attributes[match[1]!] = match[2] === "" ? null : Number(match[2]);
      }
      return show(await dm(c, options, () => c.server.writeAttributes(endpoint!, path(target!), attributes)));
    },
  },
  observe: {
    usage: "observe EP PATH [FORMAT] [--timeout S]",
    help: "notifications follow as they come",
    options: [TIMEOUT],
    min: 2,
    max: 3,
    run: async (c, [endpoint, target, format], options) => show(await dm(c, options, () => c.server.observe(endpoint!, path(target!), format === undefined ? undefined : parseFormat(format)))),
  },
  cancel: { usage: "cancel EP PATH", help: "end an observation", min: 2, max: 2, run: (c, [endpoint, target]) => (c.server.cancelObservation(endpoint!, path(target!)) ? "cancelled" : "no such observation") },
  create: {
    usage: "create EP PATH [RES=VALUE...] [--hex HEX --format F] [--timeout S]",
    help: "a new instance of /OBJ (the client picks its ID) or /OBJ/INST, e.g.\ncreate dev1 /19/5 0=hello: values typed by the object's definition\n(sent as TLV; RES/RI=VALUE for one resource instance), or --hex",
    options: ["--hex", "--format", TIMEOUT],
    min: 2,
    max: Infinity,
    run: async (c, [endpoint, target, ...values], options) => {
      const parsed = parsePathString(path(target!))!;
      const hex = options.get("--hex");
      let body: { format: number; payload: Uint8Array };
      if (hex !== undefined) {
        if (values.length) throw new UsageError("give either RES=VALUE words or --hex, not both");
        const payload = fromHex(hex);
        if (!payload) throw new UsageError("--hex needs pairs of hex digits");
        const format = options.get("--format");
        body = { format: format === undefined ? ContentFormat.LwM2mTlv : parseFormat(format), payload };
      } else {
        if (options.has("--format")) throw new UsageError("--format goes with --hex (values are sent as TLV)");
        if (parsed.resourceId !== undefined) throw new UsageError("create takes /OBJ or /OBJ/INST");
        try {
          body = encodeCreatePayload(c.server.models.lookup, parsed, values);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
      }
      // Create is a POST to the object, whatever the instance ID (a POST to an instance would be a partial Write).
      return show(await dm(c, options, () => c.server.create(endpoint!, `/${parsed.objectId}`, body.format, body.payload)));
    },
  },
  delete: { usage: "delete EP PATH [--timeout S]", help: "", options: [TIMEOUT], min: 2, max: 2, run: async (c, [endpoint, target], options) => show(await dm(c, options, () => c.server.delete(endpoint!, path(target!)))) },
  cmd: {
    usage: "cmd EP TEXT... [--expires S]",
    help: "deliver TEXT to /19/1/0 now or when EP is reachable (default expiry 24 h)",
    options: ["--expires"],
    min: 2,
    max: Infinity,
    run: ({ server }, [endpoint, ...text], options) => {
      const given = options.get("--expires");
      if (given !== undefined && !(/^[0-9]*\.?[0-9]+$/.test(given) && Number(given) > 0 && Number(given) <= MAX_EXPIRES_S)) throw new UsageError(`--expires must be a number of seconds above 0 and at most ${MAX_EXPIRES_S}, got "${given}"`);
      const expires = given === undefined ? undefined : Number(given) * 1000;
      const data = new TextEncoder().encode(text.join(" "));
      return `command #${server.sendCommand(endpoint!, data, expires === undefined ? {} : { expiresInMs: expires }).id} queued`;
    },
  },
  commands: {
    usage: "commands",
    help: "command statuses",
    min: 0,
    max: 0,
    run: ({ server }) => {
      const now = Date.now();
      return server.commands.list().map((c) => `#${c.id} ${c.endpoint} ${c.status}${c.result ? ` ${c.result}` : ""}${c.status === "waiting" ? `, expires in ${Math.max(0, Math.round((c.expiresAt - now) / 1000))} s` : ""}`).join("\n") || "(none)";
    },
  },
  violations: {
    usage: "violations",
    help: "rule violations by clients (count and the last ones)",
    min: 0,
    max: 0,
    run: ({ server }) => {
      const report = server.violations;
      return [`${report.count} violation(s)`, ...report.violations.map((v) => `${v.at} ${v.endpoint ?? v.peer}: ${v.rule}: ${v.message}`)].join("\n");
    },
  },
  bootstraps: {
    usage: "bootstraps",
    help: "what the bootstrap role did for each client",
    min: 0,
    max: 0,
    run: ({ server }) => server.bootstraps.map((b) => `${b.at} ${b.endpoint} ${b.peer} ${b.status}${b.reason ? ` (${b.reason})` : ""}: ${b.steps.map((step) => `${step.operation} ${step.path} ${step.code}`).join(", ")}`).join("\n") || "(none)",
  },
  log: {
    usage: "log [LEVEL]",
    help: "the server's log level: error, warn, info, debug or trace",
    min: 0,
    max: 1,
    run: ({ log }, [level]) => {
      if (!log) return "no log level to set here";
      if (level === undefined) return `log level ${log.level}`;
      if (!isLogLevel(level)) throw new UsageError(`"${level}" is not a log level: error, warn, info, debug or trace`);
      log.level = level;
      return `log level ${level}`;
    },
  },
};

const FOTA_COMMANDS = ["images", "fota", "fota-update", "fota-cancel"];

/** The usage column is as wide as FOTA_USAGE's; a longer usage puts its help on the next line. */
const USAGE_WIDTH = 32;

export const CONSOLE_USAGE = `Commands on standard input:
${Object.values(COMMANDS)
  .map((command) => {
    const help = command.help.replace(/\n/g, `\n${" ".repeat(USAGE_WIDTH + 3)}`);
    return command.usage.length > USAGE_WIDTH && help ? `  ${command.usage}\n${" ".repeat(USAGE_WIDTH + 3)}${help}` : `  ${command.usage.padEnd(USAGE_WIDTH)} ${help}`.trimEnd();
  })
  .join("\n")}
${FOTA_USAGE}
  help [COMMAND] | quit
  --timeout S: that request's deadline in seconds (default --request-timeout); requests for a
  sleeping queue-mode client wait for its next Update`;

/** Splits the words after a command into arguments and its options (--name VALUE or --name=VALUE; "--" ends options). */
function splitOptions(words: readonly string[], allowed: readonly string[]): { args: string[]; options: Map<string, string> } {
  const args: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") {
      args.push(...words.slice(i + 1));
      break;
    }
    if (!/^--[a-z]/.test(word)) {
      args.push(word);
      continue;
    }
    const equals = word.indexOf("=");
    const name = equals > 0 ? word.slice(0, equals) : word;
    if (allowed.indexOf(name) < 0) throw new UsageError(`unknown option ${name}${allowed.length ? ` (this command takes ${allowed.join(", ")})` : ""}`);
    const value = equals > 0 ? word.slice(equals + 1) : words[++i];
    if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
    options.set(name, value);
  }
  return { args, options };
}

/** Runs one console line; resolves with what to print (empty: nothing). */
export async function runConsoleLine(ctx: ConsoleOptions, line: string): Promise<string> {
  const [name, ...words] = line.trim().split(/\s+/).filter((word) => word !== "");
  if (name === undefined) return "";
  if (name === "help") {
    const command = words[0] === undefined ? undefined : COMMANDS[words[0]];
    return command ? `usage: ${command.usage}${command.help ? `\n  ${command.help.replace(/\n/g, "\n  ")}` : ""}` : CONSOLE_USAGE;
  }
  if (name === "quit" || name === "exit") {
    ctx.quit();
    return "";
  }
  if (name === "fota" && ctx.demoFota) {
    const answer = ctx.demoFota(words);
    if (answer !== undefined) return answer;
  }
  if (FOTA_COMMANDS.indexOf(name) >= 0) return fotaCommand(ctx.server, name, words);
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return `unknown command "${name}"; type "help"`;
  try {
    const { args, options } = splitOptions(words, command.options ?? []);
    if (args.length < command.min || args.length > command.max) throw new UsageError(args.length < command.min ? "missing arguments" : "too many arguments");
    return await command.run(ctx, args, options);
  } catch (error) {
    if (error instanceof UsageError) return `${name}: ${error.message}\nusage: ${command.usage}`;
    throw error;
  }
}

/**
 * Reads commands from `input` line by line and prints their answers (or
 * "error: ...") through `print`. The end of the input (stdin closed, or not
 * a terminal and empty) ends the console, not the program.
 */
export function attachConsole(ctx: ConsoleOptions, print: (text: string) => void, input: Readable = process.stdin): { close(): void } {
  const lines = readline.createInterface({ input, terminal: false });
  lines.on("line", (line) => {
    runConsoleLine(ctx, line).then(
      (output) => output && print(output),
      (error: Error) => print(`error: ${error.message}`),
    );
  });
  return { close: () => lines.close() };
}

/** Prints the server's events as the console shows them: flood-controlled (server.eventLog), progress bars for firmware transfers. */
export function printEvents(server: LwM2mDevServer, display: ProgressDisplay, say: (line: string) => void, filter: (event: ServerEvent) => boolean = () => true): () => void {
  const listener = (event: ServerEvent) => {
    if (!filter(event)) return;
    if (event.type === "fota-progress") display.progress(event);
    else say(describeEvent(event));
  };
  server.eventLog.on("event", listener);
  return () => server.eventLog.off("event", listener);
}
