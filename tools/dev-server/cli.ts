/**
 * The development LwM2M server: `node build/tools/dev-server/cli.js [options]`
 * (or `npm run dev-server -- [options]`). Prints registrations, notifications
 * and command statuses; takes commands on standard input (type "help").
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { isLogLevel } from "../../hal/log.js";
import { parsePathString } from "../../modules/lwm2m/path.js";
import { startHttpApi } from "./http-api.js";
import { describeEvent, show } from "./describe.js";
import { parsePskSpec } from "./dtls-endpoint.js";
import { fotaCommand, FOTA_USAGE } from "./fota/fota-cli.js";
import { ProgressDisplay } from "./fota/progress-display.js";
import { LwM2mDevServer, type ServerEvent } from "./server.js";

const USAGE = `usage: npm run dev-server -- [--coap-port N] [--dtls-port N] [--psk IDENTITY:HEX ...] [--bootstrap-port N] [--http-port N] [--auto-observe PATH|none] [--images DIR] [--fota-host HOST] [--log LEVEL] [--lenient]

  --coap-port N          UDP port for CoAP (default 5683)
  --psk IDENTITY:HEX     a DTLS PSK client: its identity (text; the key is after the last ":") and key
                         (1 to 64 bytes as hex pairs), e.g. --psk dev1:73656372657431; repeatable.
                         Any --psk turns on the coaps:// endpoint. Keys are never printed.
  --dtls-port N          UDP port for coaps:// (DTLS 1.2 PSK: TLS_PSK_WITH_AES_128_CCM_8 or
                         TLS_PSK_WITH_AES_128_CBC_SHA256; default 5684; 0 picks one); needs --psk.
                         The same handlers and strict checks serve coap:// and coaps://; "clients" and
                         GET /clients say which transport (and PSK identity) each client came with.
  --bootstrap-port N     also be a bootstrap server on this UDP port (0 picks one; default: no
                         bootstrap role). A client's Bootstrap-Request (POST /bs?ep=NAME[&pct=F])
                         gets 2.04; then Bootstrap-Delete "/", Bootstrap-Discover "/", Bootstrap-Write
                         /0 (a NoSec account for this server's CoAP address, beside the client's
                         bootstrap account) and /1 (short server id 1, lifetime --bootstrap-lifetime,
                         binding U), Bootstrap-Finish. Writes are SenML CBOR or SenML JSON when
                         the client asks with pct, else TLV. Listed by "bootstraps" and GET /bootstraps.
  --bootstrap-lifetime S lifetime the bootstrap role provisions (default 300)
  --http-port N          HTTP/JSON API port on 127.0.0.1 (default 8080; 0 turns it off)
  --auto-observe PATH    observe PATH on every client as it registers (default /19/0/0,
                         where Agent Tiny devices report; repeatable; "none" turns it off)
  --images DIR           firmware images to host (files in DIR; PUT /images/NAME writes there); without
                         it uploaded images are kept in memory. Each is served at coap://HOST:PORT/fw/NAME
                         (and coaps:// with --psk) with Block2, and at http://HOST:HTTPPORT/images/NAME
                         with Range
  --max-image-bytes N    largest image taken or served (default 16777216; PUT above it gets 413)
  --fota-host HOST       the host name devices reach this server at, in Package URIs (default 127.0.0.1)
  --log LEVEL            error | warn | info | debug | trace (default warn)
  --lenient              accept Register/Update requests that break a rule. By default (strict
                         mode) the server checks every message from a client against RFC 7252,
                         RFC 7641, RFC 6690 and the LwM2M TS 1.1, and refuses a Register/Update
                         breaking a rule with 4.00 and the rule as diagnostic. In both modes
                         every violation is logged ("[strict] ..."), counted and listed by
                         "violations" and GET /violations.

Commands on standard input:
  clients                          registered clients
  read EP PATH [FORMAT]            e.g. read dev1 /3/0 11542
  discover EP PATH
  write EP PATH VALUE              e.g. write dev1 /3/0/14 +02:00
  exec EP PATH [ARGS]
  attrs EP PATH name=value...      e.g. attrs dev1 /3/0/9 pmin=5 pmax=60
  observe EP PATH | cancel EP PATH
  violations                       rule violations by clients (count and the last ones)
  bootstraps                       what the bootstrap role did for each client
  delete EP PATH
  cmd EP TEXT [EXPIRES_S]          deliver TEXT to /19/1/0 now or when EP is reachable
  commands                         command statuses
${FOTA_USAGE}
  help | quit`;

interface CliOptions {
  coapPort: number;
  dtlsPort: number | undefined;
  psk: Map<string, Uint8Array>;
  bootstrapPort: number | undefined;
  bootstrapLifetime: number;
  httpPort: number;
  log: string;
  autoObserve: string[];
  strict: boolean;
  images: string | undefined;
  maxImageBytes: number | undefined;
  fotaHost: string | undefined;
}

function parse(argv: string[]): CliOptions {
  const options: CliOptions = { coapPort: 5683, dtlsPort: undefined, psk: new Map(), bootstrapPort: undefined, bootstrapLifetime: 300, httpPort: 8080, log: "warn", autoObserve: [], strict: true, images: undefined, maxImageBytes: undefined, fotaHost: undefined };
  let autoObserveGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--lenient") {
      options.strict = false;
      continue;
    }
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const value = argv[++i];
    const port = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${arg} needs a port number, got "${value ?? ""}"`);
      return n;
    };
    if (arg === "--coap-port") options.coapPort = port();
    else if (arg === "--dtls-port") options.dtlsPort = port();
    else if (arg === "--psk") {
      const { identity, key } = parsePskSpec(value ?? "");
      if (options.psk.has(identity)) throw new Error(`--psk: identity "${identity}" is given twice`);
      options.psk.set(identity, key);
    }
    else if (arg === "--bootstrap-port") options.bootstrapPort = port();
    else if (arg === "--bootstrap-lifetime") {
      if (!/^[1-9][0-9]*$/.test(value ?? "")) throw new Error(`--bootstrap-lifetime needs a positive number of seconds, got "${value ?? ""}"`);
      options.bootstrapLifetime = Number(value);
    } else if (arg === "--http-port") options.httpPort = port();
    else if (arg === "--log" && isLogLevel(value)) options.log = value;
    else if (arg === "--images" && value) options.images = value;
    else if (arg === "--fota-host" && value) options.fotaHost = value;
    else if (arg === "--max-image-bytes") {
      if (!/^[1-9][0-9]*$/.test(value ?? "")) throw new Error(`--max-image-bytes needs a positive number of bytes, got "${value ?? ""}"`);
      options.maxImageBytes = Number(value);
    }
    else if (arg === "--auto-observe" && value) {
      autoObserveGiven = true;
      if (value !== "none") {
        if (!parsePathString(value)) throw new Error(`--auto-observe needs an LwM2M path, got "${value}"`);
        options.autoObserve.push(value);
      }
    }
    else throw new Error(`unknown option "${arg}"`);
  }
  if (!autoObserveGiven) options.autoObserve.push("/19/0/0");
  if (options.dtlsPort !== undefined && options.psk.size === 0) throw new Error("--dtls-port needs at least one --psk IDENTITY:HEX");
  if (options.psk.size && options.dtlsPort === undefined) options.dtlsPort = 5684;
  return options;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`dev-server: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "lwm2m-dev-server-"));
  const platform = createNodePlatform({ stateDir, logLevel: options.log as never });
  const bootstrap = options.bootstrapPort === undefined ? {} : { bootstrap: { port: options.bootstrapPort, lifetime: options.bootstrapLifetime } };
  // Progress of firmware transfers: a bar redrawn in place on a terminal, a line per 10 % elsewhere.
  const display = new ProgressDisplay(process.stdout);
  const say = (line: string) => display.line(`[server] ${line}`);
  const dtls = options.dtlsPort === undefined ? {} : { dtls: { port: options.dtlsPort, psk: options.psk } };
  const fota = {
    fota: {
      ...(options.images !== undefined ? { imagesDir: options.images } : {}),
      ...(options.maxImageBytes !== undefined ? { maxImageBytes: options.maxImageBytes } : {}),
      ...(options.fotaHost !== undefined ? { publicHost: options.fotaHost } : {}),
    },
  };
  let server: LwM2mDevServer;
  try {
    server = new LwM2mDevServer({ platform, port: options.coapPort, autoObserve: options.autoObserve, strict: options.strict, ...bootstrap, ...dtls, ...fota });
  } catch (error) {
    process.stderr.write(`dev-server: ${(error as Error).message}\n`);
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
    process.exit(1);
  }
  server.on("event", (event: ServerEvent) => (event.type === "fota-progress" ? display.progress(event) : say(describeEvent(event))));
  while (!server.port || (options.bootstrapPort !== undefined && !server.bootstrapPort) || (options.dtlsPort !== undefined && !server.dtlsPort)) await new Promise((resolve) => setTimeout(resolve, 2));
  const http = options.httpPort ? await startHttpApi(server, options.httpPort) : undefined;
  const bootstrapNote = options.bootstrapPort === undefined ? "" : `, bootstrap server on coap://127.0.0.1:${server.bootstrapPort}`;
  const dtlsNote = options.dtlsPort === undefined ? "" : `, coaps://127.0.0.1:${server.dtlsPort} (DTLS PSK; identities: ${Array.from(options.psk.keys()).map((id) => `"${id}"`).join(", ")})`;
  say(`LwM2M server on coap://127.0.0.1:${server.port}${dtlsNote}${bootstrapNote}${http ? `, HTTP API on http://127.0.0.1:${options.httpPort}` : ""} (${server.strict ? "strict" : "lenient"} mode); type "help"`);
  const stop = () => {
    http?.close();
    server.close();
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const [command, endpoint, target, ...rest] = line.trim().split(/\s+/);
    const run = async (): Promise<string> => {
      switch (command) {
        case undefined:
        case "":
          return "";
        case "help":
          return USAGE;
        case "quit":
          stop();
          return "";
        case "clients":
          return server.registry.list().map((c) => `${c.endpoint} ${c.peer.address}:${c.peer.port} lt=${c.lifetime} b=${c.binding} ${c.pskIdentity !== undefined ? `dtls(${c.pskIdentity})` : "udp"}`).join("\n") || "(none)";
        case "violations": {
          const report = server.violations;
          return [`${report.count} violation(s)`, ...report.violations.map((v) => `${v.at} ${v.endpoint ?? v.peer}: ${v.rule}: ${v.message}`)].join("\n");
        }
        case "bootstraps":
          return server.bootstraps.map((b) => `${b.at} ${b.endpoint} ${b.peer} ${b.status}${b.reason ? ` (${b.reason})` : ""}: ${b.steps.map((step) => `${step.operation} ${step.path} ${step.code}`).join(", ")}`).join("\n") || "(none)";
        case "commands":
          return server.commands.list().map((c) => `#${c.id} ${c.endpoint} ${c.status}${c.result ? ` ${c.result}` : ""}`).join("\n") || "(none)";
        case "read":
          return show(await server.read(endpoint!, target!, rest[0] === undefined ? undefined : Number(rest[0])));
        case "discover":
          return show(await server.discover(endpoint!, target!));
        case "write":
          return show(await server.write(endpoint!, target!, rest.join(" ")));
        case "exec":
          return show(await server.execute(endpoint!, target!, rest.join(" ")));
        case "attrs":
          return show(await server.writeAttributes(endpoint!, target!, Object.fromEntries(rest.map((pair) => pair.split("=")).map(([k, v]) => [k!, v === undefined ? null : Number(v)]))));
        case "observe":
          return show(await server.observe(endpoint!, target!));
        case "cancel":
          return server.cancelObservation(endpoint!, target!) ? "cancelled" : "no such observation";
        case "delete":
          return show(await server.delete(endpoint!, target!));
        case "cmd": {
          const expires = rest.length && /^[0-9]+$/.test(rest[rest.length - 1]!) ? Number(rest.pop()) * 1000 : undefined;
          const data = new TextEncoder().encode([target, ...rest].join(" "));
          return `command #${server.sendCommand(endpoint!, data, expires === undefined ? {} : { expiresInMs: expires }).id} queued`;
        }
        case "images":
        case "fota":
        case "fota-update":
        case "fota-cancel":
          return fotaCommand(server, command, [endpoint, target, ...rest].filter((word): word is string => word !== undefined));
        default:
          return `unknown command "${command}"; type "help"`;
      }
    };
    run().then(
      (output) => output && display.line(output),
      (error: Error) => display.line(`error: ${error.message}`),
    );
  });
}

void main();
