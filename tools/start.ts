/**
 * `npm start`: the firmware (main.ts) in the XS engine on this machine, with
 * Node doing its I/O. Without --server (and outside client-initiated
 * bootstrap mode) it also runs the development LwM2M server on loopback, which observes the device's reports and sends it
 * commands, so the console shows the whole exchange.
 */
import fs from "node:fs";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import type { NetFaults } from "../hal/host/faults/faulty-net.js";
import { BUILD_ROOT, FirmwareHost, WorkerExitedError } from "../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../hal/host/node/node-platform.js";
import { isLogLevel, type Logger } from "../hal/log.js";
import { BOOTSTRAP_MODES } from "../modules/app/firmware-settings.js";
import type { BootstrapMode } from "../modules/lwm2m/client.js";
import { parseServerUri } from "../modules/lwm2m/server-uri.js";
import { attachConsole, CONSOLE_USAGE, printEvents } from "./dev-server/console.js";
import { ProgressDisplay } from "./dev-server/fota/progress-display.js";
import { demoFotaCommand, demoFotaKeys } from "./start-fota.js";
import { modemConfig, openModemLine, parseModemKind, type ModemOptions } from "./start-modem.js";
import { startHttpApi } from "./dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "./dev-server/server.js";
import { DEFAULT_ADDRESS, parseAddress, ServerNet, uriHost } from "./dev-server/server-net.js";

const USAGE = `usage: npm start -- [options] [name=value ...]

  --server coap[s]://HOST:PORT  run the firmware alone against this LwM2M server
                              (without it, a development server runs on loopback)
  --endpoint NAME             LwM2M endpoint name (default xs-lwm2m-demo)
  --lifetime S                registration lifetime in seconds (default 300)
  --binding U|UQ              binding; UQ is queue mode (default U)
  --bootstrap coap://HOST:PORT  bootstrap server
  --bootstrap-mode factory|client-initiated|sequence
                              Agent Tiny's bootstrap mode (default: sequence with
                              --bootstrap, else factory):
                                factory           register with --server (or the development
                                                  server); --bootstrap is not used
                                client-initiated  ask --bootstrap for the server to use first;
                                                  --server is ignored, and no development
                                                  server runs
                                sequence          --server first (or the development server),
                                                  the bootstrap server when registration fails
  --psk-id ID --psk HEX       DTLS 1.2 PSK identity and key (1 to 64 bytes as hex pairs). Without
                              --server the development server also listens for coaps:// with
                              this identity and key, and the firmware registers over DTLS; with
                              --server coaps://HOST:PORT the firmware uses them against that server
  --modem esp8266|sim900a|bc95
                              the firmware's network through an AT-command modem on a serial
                              line: an emulated module on a pty (its links relayed to this
                              machine's sockets), or the real one given with --serial
  --serial TTY                the real module's serial port (e.g. /dev/ttyUSB0), with --modem
  --modem-ssid S, --modem-password P
                              ESP8266 Wi-Fi network (emulated: xs-lab / xs-lab-password)
  --modem-apn A               SIM900A APN (default CMNET)
  --modem-baud N              serial speed (default 115200; BC95 9600)
  --report-interval MS        time between reports (default 5000)
  --dev-server-address ADDR   address the development server binds (default 127.0.0.1;
                              0.0.0.0 lets other devices reach it too)
  --dev-server-port N         CoAP port of the development server (default 5683; 0 picks one)
  --dev-server-dtls-port N    its coaps:// port with --psk-id/--psk (default 5684; 0 picks one)
  --http-port N               its HTTP/JSON API (default 8080; 0 turns it off)
  --log LEVEL                 error | warn | info | debug | trace (default info); debug shows
                              the firmware's AT dialogue, trace the emulated module's too
  --state-dir DIR             the host device's non-volatile memory (default .xs-run/state)
  --net-loss P, --net-duplicate P, --net-reorder P, --net-delay MIN-MAX, --seed N
                              faults on the firmware's UDP traffic (probabilities 0..1)
  name=value                  any other configuration value, read through mc/config
  --help                      this text

A port of the development server in use ends the run with a message and status 1; a bad
option with status 2. With the development server, its console takes commands on standard
input (as npm run dev-server does; "quit" stops as Ctrl-C does):

${CONSOLE_USAGE}`;

/** How long Ctrl-C waits for the firmware to stop (it deregisters) before the runner gives up. */
const STOP_TIMEOUT_MS = 5000;
/** A signal this soon after the first is the same Ctrl-C passed on by a parent (npm), not a second one. */
const SAME_SIGNAL_MS = 500;

const VALUE_FLAGS: readonly string[] = Object.freeze([
  "--server", "--bootstrap", "--bootstrap-mode", "--endpoint", "--lifetime", "--binding", "--psk-id", "--psk", "--report-interval", "--dev-server-address", "--dev-server-port", "--dev-server-dtls-port", "--http-port",
  "--log", "--state-dir", "--net-loss", "--net-duplicate", "--net-reorder", "--net-delay", "--seed",
  "--modem", "--serial", "--modem-ssid", "--modem-password", "--modem-apn", "--modem-baud",
]);

interface StartOptions {
  config: Record<string, string>;
  stateDir: string;
  devServerAddress: string;
  devServerPort: number;
  devServerDtlsPort: number;
  httpPort: number;
  faults: { loss?: number; duplicate?: number; reorder?: number; delayMs?: [number, number]; seed?: number };
  modem?: ModemOptions;
}

function parse(argv: string[]): StartOptions {
  const options: StartOptions = { config: {}, stateDir: path.resolve(".xs-run", "state"), devServerAddress: DEFAULT_ADDRESS, devServerPort: 5683, devServerDtlsPort: 5684, httpPort: 8080, faults: {} };
  const modem: { -readonly [K in keyof ModemOptions]?: ModemOptions[K] } = {};
  const probability = (flag: string, text: string): number => {
    const value = Number(text);
    if (!(value >= 0 && value <= 1) || text.trim() === "") throw new Error(`${flag} needs a probability between 0 and 1, got "${text}"`);
    return value;
  };
  const positive = (flag: string, text: string, min = 1): string => {
    if (!/^[0-9]+$/.test(text) || Number(text) < min) throw new Error(`${flag} needs a whole number of at least ${min}, got "${text}"`);
    return text;
  };
  const port = (flag: string, text: string): number => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || value > 65535) throw new Error(`${flag} needs a port number, got "${text}"`);
    return value;
  };
  const uri = (flag: string, text: string): string => {
    if (!parseServerUri(text)) throw new Error(`${flag} needs coap://HOST:PORT or coaps://HOST:PORT, got "${text}"`);
    return text;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(arg);
    if (match) {
      options.config[match[1]!] = match[2]!;
      continue;
    }
    if (VALUE_FLAGS.indexOf(arg) < 0) throw new Error(`unknown option "${arg}"`);
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    switch (arg) {
      case "--server":
        options.config["server"] = uri(arg, value);
        break;
      case "--bootstrap":
        options.config["bootstrap"] = uri(arg, value);
        break;
      case "--bootstrap-mode":
        options.config["bootstrapMode"] = value;
        break;
      case "--endpoint":
        if (!/^[!-~]{1,64}$/.test(value) || /[&=?#/]/.test(value)) throw new Error(`--endpoint must be 1..64 printable characters without & = ? # /, got "${value}"`);
        options.config["endpoint"] = value;
        break;
      case "--lifetime":
        options.config["lifetime"] = positive(arg, value);
        break;
      case "--binding":
        if (value !== "U" && value !== "UQ") throw new Error(`--binding must be U or UQ, got "${value}"`);
        options.config["binding"] = value;
        break;
      case "--psk-id":
        if (value.length < 1 || value.length > 128) throw new Error(`--psk-id needs 1 to 128 characters, got ${value.length}`);
        options.config["pskId"] = value;
        break;
      case "--psk":
        // The value is a key: it is not repeated in the message.
        if (!/^([0-9a-fA-F]{2}){1,64}$/.test(value)) throw new Error("--psk needs the key as hex pairs (1 to 64 bytes)");
        options.config["psk"] = value;
        break;
      case "--report-interval":
        options.config["reportInterval"] = positive(arg, value, 100);
        break;
      case "--dev-server-address":
        options.devServerAddress = parseAddress(value, arg);
        // The firmware's host network (hal/host/node) is IPv4.
        if (options.devServerAddress.includes(":")) throw new Error(`--dev-server-address needs an IPv4 address (the firmware on the host speaks IPv4), got "${value}"`);
        break;
      case "--dev-server-port":
        options.devServerPort = port(arg, value);
        break;
      case "--dev-server-dtls-port":
        options.devServerDtlsPort = port(arg, value);
        break;
      case "--http-port":
        options.httpPort = port(arg, value);
        break;
      case "--log":
        if (!isLogLevel(value)) throw new Error(`--log must be one of error, warn, info, debug, trace; got "${value}"`);
        options.config["log"] = value;
        break;
      case "--state-dir":
        options.stateDir = path.resolve(value);
        break;
      case "--net-loss":
        options.faults.loss = probability(arg, value);
        break;
      case "--net-duplicate":
        options.faults.duplicate = probability(arg, value);
        break;
      case "--net-reorder":
        options.faults.reorder = probability(arg, value);
        break;
      case "--net-delay": {
        const delay = /^(\d+)(?:-(\d+))?$/.exec(value);
        if (!delay || Number(delay[2] ?? delay[1]) < Number(delay[1])) throw new Error(`--net-delay needs MIN-MAX in ms, got "${value}"`);
        options.faults.delayMs = [Number(delay[1]), Number(delay[2] ?? delay[1])];
        break;
      }
      case "--seed":
        if (!/^-?[0-9]+$/.test(value)) throw new Error(`--seed needs an integer, got "${value}"`);
        options.faults.seed = Number(value);
        break;
      case "--modem":
        modem.modem = parseModemKind(value);
        break;
      case "--serial":
        modem.serial = value;
        break;
      case "--modem-ssid":
        modem.ssid = value;
        break;
      case "--modem-password":
        modem.password = value;
        break;
      case "--modem-apn":
        modem.apn = value;
        break;
      case "--modem-baud":
        modem.baud = Number(positive(arg, value, 1200));
        break;
    }
  }
  if (modem.modem) {
    options.modem = modem as ModemOptions;
    Object.assign(options.config, modemConfig(options.modem));
  } else if (Object.keys(modem).length > 0) throw new Error("--serial and the --modem-… options need --modem esp8266|sim900a|bc95");
  if ((options.config["pskId"] === undefined) !== (options.config["psk"] === undefined)) throw new Error("give --psk-id and --psk together");
  const mode = options.config["bootstrapMode"];
  if (mode !== undefined && BOOTSTRAP_MODES.indexOf(mode as BootstrapMode) < 0) throw new Error(`--bootstrap-mode must be ${BOOTSTRAP_MODES.slice(0, -1).join(", ")} or ${BOOTSTRAP_MODES[BOOTSTRAP_MODES.length - 1]}, got "${mode}"`);
  if ((mode === "client-initiated" || mode === "sequence") && !options.config["bootstrap"]) throw new Error(`--bootstrap-mode ${mode} needs --bootstrap coap://HOST:PORT`);
  return options;
}

interface DevServer {
  readonly server: LwM2mDevServer;
  readonly log: Logger;
  /** The address the firmware is given (loopback when the server binds every interface). */
  readonly host: string;
  readonly port: number;
  readonly dtlsPort: number;
  /** Prints a console line (ending a progress bar left open). */
  print(text: string): void;
  close(): void;
}

/** The development server inside `npm start`: it observes /19/0/0 on registration and sends a command every 7 s. */
async function startDevServer(options: StartOptions): Promise<DevServer> {
  const stateDir = path.join(options.stateDir, "dev-server");
  fs.mkdirSync(stateDir, { recursive: true });
  const hint = (port: number) => (port === options.devServerPort ? "pick another with --dev-server-port N (0 picks a free one)" : "pick another with --dev-server-dtls-port N (0 picks a free one)");
  const net = new ServerNet(options.devServerAddress, hint);
  // The server's sockets bind the address the banner shows.
  const platform = { ...createNodePlatform({ stateDir, logLevel: "warn" }), net };
  const pskId = options.config["pskId"];
  const psk = options.config["psk"];
  // With PSK credentials the firmware goes over DTLS: the server knows that one identity and key.
  const dtls = pskId !== undefined && psk !== undefined
    ? { dtls: { port: options.devServerDtlsPort, psk: new Map([[pskId, Uint8Array.from(Buffer.from(psk, "hex"))]]) } }
    : {};
  let server: LwM2mDevServer | undefined;
  let http: http.Server | undefined;
  let commandTimer: ReturnType<typeof setInterval> | undefined;
  const close = () => {
    clearInterval(commandTimer);
    http?.close();
    server?.close();
    platform.close();
  };
  try {
    server = new LwM2mDevServer({ platform, port: options.devServerPort, autoObserve: ["/19/0/0"], ...dtls });
    // A port in use fails here, with a message naming the option to change.
    await net.bound();
    if (options.httpPort) http = await startHttpApi(server, options.httpPort);
  } catch (error) {
    close();
    throw error;
  }
  const running = server;
  let commands = 0;
  running.on("event", (event: ServerEvent) => {
    if (event.type !== "registered") return;
    const endpoint = event.endpoint;
    clearInterval(commandTimer);
    commandTimer = setInterval(() => running.sendCommand(endpoint, new TextEncoder().encode(`led ${++commands % 2 ? "on" : "off"}`), { expiresInMs: 60000 }), 7000);
  });
  // What is printed goes through flood control (server.eventLog); of command statuses only success and waiting.
  const display = new ProgressDisplay(process.stdout);
  printEvents(running, display, (line) => display.line(`[server] ${line}`), (event) => event.type !== "command" || event.command.status === "success" || event.command.status === "waiting");
  const shown = uriHost(options.devServerAddress);
  const dtlsNote = dtls.dtls ? `, coaps://${shown}:${running.dtlsPort} (DTLS PSK identity "${pskId}")` : "";
  process.stdout.write(`[server] development LwM2M server (strict mode) on coap://${shown}:${running.port}${dtlsNote}${http ? `, HTTP API on http://127.0.0.1:${(http.address() as { port: number }).port}` : ""}; type "help" for its console\n`);
  const wildcard = options.devServerAddress === "0.0.0.0";
  return { server: running, log: platform.log, host: wildcard ? "127.0.0.1" : shown, port: running.port, dtlsPort: running.dtlsPort, print: (text) => display.line(text), close };
}

async function run(): Promise<void> {
  let options: StartOptions;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`npm start: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  let devServer: DevServer | undefined;
  // In client-initiated mode the bootstrap server names the LwM2M server: no development server is needed.
  if (!options.config["server"] && options.config["bootstrapMode"] !== "client-initiated") {
    try {
      devServer = await startDevServer(options);
    } catch (error) {
      process.stderr.write(`npm start: ${(error as Error).message}\n`);
      process.exit(1);
    }
    options.config["server"] = devServer.dtlsPort ? `coaps://${devServer.host}:${devServer.dtlsPort}` : `coap://${devServer.host}:${devServer.port}`;
  }
  // The firmware-update demo: a signing key pair beside the state folder, its public half given to the firmware.
  const demoKeys = devServer && !options.config["fotaPublicKey"] ? demoFotaKeys(path.join(path.dirname(options.stateDir), "fota-keys")) : undefined;
  if (demoKeys) options.config["fotaPublicKey"] = demoKeys.publicKeyHex;
  let modemLine: { serialPath: string; close: () => Promise<void> } | undefined;
  if (options.modem) {
    try {
      const trace = options.config["log"] === "trace" ? (line: string) => process.stdout.write(`[modem] ${line}\n`) : undefined;
      modemLine = await openModemLine(options.modem, trace);
    } catch (error) {
      devServer?.close();
      process.stderr.write(`npm start: ${(error as Error).message}\n`);
      process.exit(1);
    }
    process.stdout.write(`[host] ${options.modem.serial ? "" : "emulated "}${options.modem.modem} on ${modemLine.serialPath}\n`);
  }
  const faulty = Object.keys(options.faults).some((key) => key !== "seed");
  let stopping = false;
  let ending = false;
  /** Ends the runner once: closes the development server, lets the console lines reach a pipe or file, exits. */
  const end = (code: number, message?: string) => {
    if (ending) return;
    ending = true;
    if (message) process.stderr.write(`${message}\n`);
    devServer?.close();
    const exit = () => process.stdout.write("", () => process.exit(code));
    // The XS worker, if still running, is killed as this process exits (see XsWorker).
    if (modemLine) void modemLine.close().then(exit, exit);
    else exit();
  };
  const host = new FirmwareHost({
    stateDir: options.stateDir,
    config: options.config,
    ...(faulty ? { netFaults: options.faults as NetFaults } : {}),
    ...(modemLine ? { serialPath: modemLine.serialPath } : {}),
    onFatal: (error) => {
      if (ending || stopping) return;
      stopping = true;
      process.stderr.write(`[host] ${error instanceof WorkerExitedError ? "" : "firmware failed: "}${error.message}\n`);
      void host.stop().then(() => end(1));
    },
    // Platform.restart() (after a firmware update, Execute /3/0/4): the host boots the firmware again and keeps running.
    onRestart: (count) => process.stdout.write(`[host] firmware booted again after reboot #${count}; XS worker pid ${host.workerPid ?? "?"}\n`),
  });
  process.stdout.write(`[host] running the firmware in XS (xsnap-worker) from ${path.relative(process.cwd(), BUILD_ROOT) || "."}; state in ${options.stateDir}; Ctrl-C stops\n`);
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals | "quit") => {
    if (ending) return;
    if (stopping) {
      if (signal === "quit") return;
      // npm passes the signals it gets on to its child: when the child is this process, one Ctrl-C arrives twice.
      if (Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
      end(128 + (os.constants.signals[signal] ?? 0), `[host] ${signal} again: exiting without waiting for the firmware to stop`);
      return;
    }
    stopping = true;
    firstSignalAt = Date.now();
    process.stdout.write(`[host] ${signal}: stopping the firmware (it deregisters); Ctrl-C ${signal === "quit" ? "" : "again "}exits at once\n`);
    void host.stop(STOP_TIMEOUT_MS).then((outcome) => {
      if (outcome.kind === "stopped") end(0);
      else if (outcome.kind === "timed-out") end(1, `[host] the firmware did not finish stopping (deregistering) within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
      else if (outcome.kind === "worker-exited") end(1, `[host] the XS worker exited before the firmware had stopped (${outcome.detail})`);
      else end(1, `[host] the firmware failed to stop: ${outcome.error.message}`);
    });
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  // The development server's console on standard input, as in npm run dev-server; "quit" stops as Ctrl-C does.
  if (devServer) {
    const server = devServer.server;
    const endpoint = options.config["endpoint"] ?? "xs-lwm2m-demo";
    // `fota FILE`: signed with the demo key the firmware was given (a file that is no registered endpoint's name).
    const demoFota = demoKeys ? (words: readonly string[]) => (words.length >= 1 && !server.registry.get(words[0]!) ? demoFotaCommand(server, demoKeys, endpoint, words) : undefined) : undefined;
    attachConsole({ server, log: devServer.log, quit: () => onSignal("quit"), ...(demoFota ? { demoFota } : {}) }, devServer.print);
  }
  try {
    await host.start();
  } catch (error) {
    if (stopping || ending) return; // a signal or a fatal error is already ending the run
    stopping = true;
    process.stderr.write(`[host] firmware did not start: ${(error as Error).message}\n`);
    await host.stop(0);
    end(1);
    return;
  }
  if (host.workerPid !== undefined) process.stdout.write(`[host] XS worker pid ${host.workerPid}\n`);
}

void run();
