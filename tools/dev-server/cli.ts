/**
 * The development LwM2M server: `node build/tools/dev-server/cli.js [options]`
 * (or `npm run dev-server -- [options]`). Prints registrations, notifications
 * and command statuses; takes commands on standard input (type "help").
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { isLogLevel, type LogLevel } from "../../hal/log.js";
import { parsePathString } from "../../modules/lwm2m/path.js";
import { attachConsole, CONSOLE_USAGE, printEvents } from "./console.js";
import { parsePskSpec } from "./dtls-endpoint.js";
import { DEFAULT_EVENT_RATE } from "./flood-control.js";
import { ProgressDisplay } from "./fota/progress-display.js";
import { startHttpApi } from "./http-api.js";
import { DEFAULT_AWAKE_MS, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, parseTimeoutSeconds } from "./request-queue.js";
import { LwM2mDevServer } from "./server.js";
import { DEFAULT_ADDRESS, parseAddress, ServerNet, uriHost } from "./server-net.js";

const USAGE = `usage: npm run dev-server -- [--address ADDR] [--coap-port N] [--dtls-port N] [--psk IDENTITY:HEX ...] [--bootstrap-port N] [--http-port N] [--http-address ADDR] [--auto-observe PATH|none] [--request-timeout S] [--queue-timeout S] [--awake-time S] [--event-rate N] [--images DIR] [--fota-host HOST] [--log LEVEL] [--lenient]

  --address ADDR         address the CoAP, coaps:// and bootstrap sockets bind, and the banner shows
                         (default ${DEFAULT_ADDRESS}: this machine only; 0.0.0.0 for every interface)
  --coap-port N          UDP port for CoAP (default 5683; 0 picks one)
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
  --http-port N          HTTP/JSON API port (default 8080; 0 turns it off)
  --http-address ADDR    address the HTTP API binds (default ${DEFAULT_ADDRESS})
  --auto-observe PATH    observe PATH on every client as it registers (default /19/0/0,
                         where Agent Tiny devices report; repeatable; "none" turns it off)
  --request-timeout S    deadline of a device-management request, its wait behind the client's
                         earlier requests included (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000}); then it is cancelled and the
                         HTTP API answers 504. A request can give its own (timeout=S, --timeout S)
  --queue-timeout S      deadline of a request made while a queue-mode client sleeps: it waits for
                         the client's next Update (default ${DEFAULT_QUEUE_TIMEOUT_MS / 1000})
  --awake-time S         a queue-mode client is taken to listen this long after it was last heard
                         from, and to sleep after (default ${DEFAULT_AWAKE_MS / 1000}, CoAP's MAX_TRANSMIT_WAIT)
  --event-rate N         flood control: a client's notifications, Sends and Updates printed, streamed
                         on /events and kept, per second (default ${DEFAULT_EVENT_RATE}, bursts of twice that; 0: no
                         limit). The rest are counted: a "flood control" line a second, "clients",
                         GET /clients (droppedEvents) and GET /events/recent show the counts
  --images DIR           firmware images to host (files in DIR; PUT /images/NAME writes there); without
                         it uploaded images are kept in memory. Each is served at coap://HOST:PORT/fw/NAME
                         (and coaps:// with --psk) with Block2, and at http://HOST:HTTPPORT/images/NAME
                         with Range
  --max-image-bytes N    largest image taken or served (default 16777216; PUT above it gets 413)
  --fota-host HOST       the host name devices reach this server at, in Package URIs (default: --address,
                         or 127.0.0.1 when that is 0.0.0.0)
  --log LEVEL            the server's own log: error | warn | info | debug | trace (default warn);
                         "log LEVEL" on the console changes it
  --lenient              accept Register/Update requests that break a rule. By default (strict
                         mode) the server checks every message from a client against RFC 7252,
                         RFC 7641, RFC 6690 and the LwM2M TS 1.1, and refuses a Register/Update
                         breaking a rule with 4.00 and the rule as diagnostic. In both modes
                         every violation is logged ("[strict] ..."), counted and listed by
                         "violations" and GET /violations.
  --help                 this text

A port in use (CoAP, coaps://, bootstrap or HTTP) ends the server with a message and status 1;
a bad option with status 2.

${CONSOLE_USAGE}`;

interface CliOptions {
  address: string;
  coapPort: number;
  dtlsPort: number | undefined;
  psk: Map<string, Uint8Array>;
  bootstrapPort: number | undefined;
  bootstrapLifetime: number;
  httpPort: number;
  httpAddress: string;
  log: LogLevel;
  autoObserve: string[];
  strict: boolean;
  images: string | undefined;
  maxImageBytes: number | undefined;
  fotaHost: string | undefined;
  requestTimeoutMs: number;
  queueTimeoutMs: number;
  awakeMs: number;
  eventRate: number;
}

/** Options that take no value. */
const FLAGS: readonly string[] = ["--lenient", "--help", "-h"];

function parse(argv: string[]): CliOptions {
  const options: CliOptions = {
    address: DEFAULT_ADDRESS,
    coapPort: 5683,
    dtlsPort: undefined,
    psk: new Map(),
    bootstrapPort: undefined,
    bootstrapLifetime: 300,
    httpPort: 8080,
    httpAddress: DEFAULT_ADDRESS,
    log: "warn",
    autoObserve: [],
    strict: true,
    images: undefined,
    maxImageBytes: undefined,
    fotaHost: undefined,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    queueTimeoutMs: DEFAULT_QUEUE_TIMEOUT_MS,
    awakeMs: DEFAULT_AWAKE_MS,
    eventRate: DEFAULT_EVENT_RATE,
  };
  let autoObserveGiven = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    // --name=value as well as --name value.
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (equals > 0) {
      inline = arg.slice(equals + 1);
      arg = arg.slice(0, equals);
    }
    if (FLAGS.indexOf(arg) >= 0) {
      if (inline !== undefined) throw new Error(`${arg} takes no value`);
      if (arg === "--lenient") options.strict = false;
      else {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      }
      continue;
    }
    if (!/^--[a-z]/.test(arg)) throw new Error(`unexpected argument "${arg}" (options start with --)`);
    const value = inline ?? argv[++i];
    const known = ["--address", "--coap-port", "--dtls-port", "--psk", "--bootstrap-port", "--bootstrap-lifetime", "--http-port", "--http-address", "--log", "--images", "--fota-host", "--max-image-bytes", "--auto-observe", "--request-timeout", "--queue-timeout", "--awake-time", "--event-rate"];
    if (known.indexOf(arg) < 0) throw new Error(`unknown option "${arg}"`);
    if (value === undefined || value === "") throw new Error(`${arg} needs a value`);
    const port = () => {
      if (!/^[0-9]+$/.test(value) || Number(value) > 65535) throw new Error(`${arg} needs a port number, got "${value}"`);
      return Number(value);
    };
    const positive = () => {
      if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`${arg} needs a positive whole number, got "${value}"`);
      return Number(value);
    };
    const seconds = () => {
      try {
        return parseTimeoutSeconds(value, arg);
      } catch (error) {
        throw new Error((error as Error).message);
      }
    };
    switch (arg) {
      case "--address":
        options.address = parseAddress(value);
        break;
      case "--http-address":
        options.httpAddress = parseAddress(value, arg);
        break;
      case "--coap-port":
        options.coapPort = port();
        break;
      case "--dtls-port":
        options.dtlsPort = port();
        break;
      case "--psk": {
        const { identity, key } = parsePskSpec(value);
        if (options.psk.has(identity)) throw new Error(`--psk: identity "${identity}" is given twice`);
        options.psk.set(identity, key);
        break;
      }
      case "--bootstrap-port":
        options.bootstrapPort = port();
        break;
      case "--bootstrap-lifetime":
        options.bootstrapLifetime = positive();
        break;
      case "--http-port":
        options.httpPort = port();
        break;
      case "--log":
        if (!isLogLevel(value)) throw new Error(`--log needs a level: error, warn, info, debug or trace; got "${value}"`);
        options.log = value;
        break;
      case "--images":
        options.images = value;
        break;
      case "--fota-host":
        options.fotaHost = value;
        break;
      case "--max-image-bytes":
        options.maxImageBytes = positive();
        break;
      case "--auto-observe":
        autoObserveGiven = true;
        if (value !== "none") {
          if (!parsePathString(value)) throw new Error(`--auto-observe needs an LwM2M path, got "${value}"`);
          options.autoObserve.push(value);
        }
        break;
      case "--request-timeout":
        options.requestTimeoutMs = seconds();
        break;
      case "--queue-timeout":
        options.queueTimeoutMs = seconds();
        break;
      case "--awake-time":
        options.awakeMs = seconds();
        break;
      case "--event-rate":
        if (!/^[0-9]+$/.test(value)) throw new Error(`--event-rate needs a whole number of events per second (0: no limit), got "${value}"`);
        options.eventRate = Number(value);
        break;
    }
  }
  if (!autoObserveGiven) options.autoObserve.push("/19/0/0");
  if (options.dtlsPort !== undefined && options.psk.size === 0) throw new Error("--dtls-port needs at least one --psk IDENTITY:HEX");
  if (options.psk.size && options.dtlsPort === undefined) options.dtlsPort = 5684;
  return options;
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`dev-server: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "lwm2m-dev-server-"));
  const hint = (port: number) =>
    port === options.coapPort ? "pick another with --coap-port N (0 picks a free one)" : port === options.dtlsPort ? "pick another with --dtls-port N (0 picks a free one)" : "pick another with --bootstrap-port N (0 picks a free one)";
  const net = new ServerNet(options.address, hint);
  // The server's sockets bind --address: the one the banner shows.
  const platform = { ...createNodePlatform({ stateDir, logLevel: options.log }), net };
  const host = uriHost(options.address);
  // Bound to every interface, the server has no one address to hand out: --fota-host (or 127.0.0.1) instead.
  const specific = options.address !== "0.0.0.0" && options.address !== "::";
  const bootstrap = options.bootstrapPort === undefined ? {} : { bootstrap: { port: options.bootstrapPort, lifetime: options.bootstrapLifetime, ...(specific ? { serverHost: host } : options.fotaHost ? { serverHost: options.fotaHost } : {}) } };
  // Progress of firmware transfers: a bar redrawn in place on a terminal, a line per 10 % elsewhere.
  const display = new ProgressDisplay(process.stdout);
  const say = (line: string) => display.line(`[server] ${line}`);
  const dtls = options.dtlsPort === undefined ? {} : { dtls: { port: options.dtlsPort, psk: options.psk } };
  const fota = {
    fota: {
      ...(options.images !== undefined ? { imagesDir: options.images } : {}),
      ...(options.maxImageBytes !== undefined ? { maxImageBytes: options.maxImageBytes } : {}),
      // Package URIs name --fota-host, else the address the server is bound to (unless that is every interface).
      ...(options.fotaHost !== undefined ? { publicHost: options.fotaHost } : specific ? { publicHost: host } : {}),
    },
  };
  const requests = { requests: { timeoutMs: options.requestTimeoutMs, queueTimeoutMs: options.queueTimeoutMs, awakeMs: options.awakeMs } };
  const events = { events: { ratePerSecond: options.eventRate } };
  let server: LwM2mDevServer | undefined;
  let http: Awaited<ReturnType<typeof startHttpApi>> | undefined;
  const cleanUp = () => {
    http?.close();
    server?.close();
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    server = new LwM2mDevServer({ platform, port: options.coapPort, autoObserve: options.autoObserve, strict: options.strict, ...bootstrap, ...dtls, ...fota, ...requests, ...events });
    // A port in use fails here, with a message naming the option to change.
    await net.bound();
    if (options.httpPort) http = await startHttpApi(server, options.httpPort, options.httpAddress);
  } catch (error) {
    process.stderr.write(`dev-server: ${(error as Error).message}\n`);
    cleanUp();
    process.exit(1);
  }
  const running = server;
  printEvents(running, display, say);
  const bootstrapNote = options.bootstrapPort === undefined ? "" : `, bootstrap server on coap://${host}:${running.bootstrapPort}`;
  const dtlsNote = options.dtlsPort === undefined ? "" : `, coaps://${host}:${running.dtlsPort} (DTLS PSK; identities: ${Array.from(options.psk.keys()).map((id) => `"${id}"`).join(", ")})`;
  const httpNote = http ? `, HTTP API on http://${uriHost(options.httpAddress)}:${(http.address() as { port: number }).port}` : "";
  say(`LwM2M server on coap://${host}:${running.port}${dtlsNote}${bootstrapNote}${httpNote} (${running.strict ? "strict" : "lenient"} mode); type "help"`);
  const stop = () => {
    cleanUp();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  attachConsole({ server: running, log: platform.log, quit: stop }, (text) => display.line(text));
}

void main();
