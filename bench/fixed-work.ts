/**
 * Bytes on the air for a fixed piece of work: the demo firmware (main.ts:
 * AgentTiny with the demo's device hooks) against the development LwM2M
 * server over loopback UDP, through a relay that counts every datagram the
 * client sends. The work: Register, 10 Reads of /3/0, 10 Reads of /3/0/9,
 * a Discover of /3/0 and a Write of /1/0/1 (lifetime 300), with what the
 * client sends because of it (the Update carrying lt=300). Reads go without
 * an Accept option, as the demo servers of Anjay and Wakaama send them.
 */
import fs from "node:fs";
import { register } from "node:module";
import os from "node:os";
import path from "node:path";
import { FirmwareHost } from "../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../hal/host/node/node-platform.js";
import { decodeMessage } from "../modules/coap/codec.js";
import { LwM2mDevServer, type DmResult, type ServerEvent } from "../tools/dev-server/server.js";
import { CountingUdpRelay } from "./udp-relay.js";

/**
 * Client→server UDP payload bytes of other LwM2M clients doing the same work,
 * measured by this project against a third-party server (not measured here,
 * not re-run by this bench): the demo clients of Anjay and Wakaama.
 */
export const REFERENCE_CLIENT_BYTES = Object.freeze({ anjayDemo: 2319, wakaamaDemo: 5351 });

export const STEPS = Object.freeze(["register", "reads3_0", "reads3_0_9", "discover", "writeUpdate"] as const);
export type Step = (typeof STEPS)[number];

/** The demo's report period during the run: nobody observes /19/0/0, so a report would not be sent anyway. */
const REPORT_INTERVAL_MS = 3600 * 1000;
const STEP_TIMEOUT_MS = 10000;

export interface FixedWorkResult {
  readonly engine: "node" | "xs";
  readonly endpoint: string;
  /** /3/0/1 Model Number: the demo serves the port's name ("host/node", "host/xs"), so /3/0 reads differ by engine. */
  readonly modelNumber: string;
  readonly clientBytes: number;
  readonly datagrams: number;
  readonly steps: Record<Step, { bytes: number; datagrams: number }>;
  /** One Read of /3/0: the response datagram and its payload (TLV, the format a read without Accept gets). */
  readonly read3_0: { datagram: number; payload: number; format: number | undefined };
  /** Where the bytes go, over every datagram: CoAP header, token, options, payload marker, payload. */
  readonly anatomy: { header: number; token: number; options: number; marker: number; payload: number };
  /** The Register and the Update as sent (hex), for inspection. */
  readonly registerHex: string;
  readonly updateHex: string;
}

/** Starts the demo firmware against `serverUri`; `stop` deregisters and ends it. */
interface DemoRunner {
  start(serverUri: string): Promise<void>;
  stop(): Promise<void>;
  log(): string[];
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function nextEvent<T extends ServerEvent["type"]>(server: LwM2mDevServer, type: T): Promise<Extract<ServerEvent, { type: T }>> {
  return new Promise((resolve) => {
    const listener = (event: ServerEvent) => {
      if (event.type !== type) return;
      server.off("event", listener);
      resolve(event as Extract<ServerEvent, { type: T }>);
    };
    server.on("event", listener);
  });
}

function succeeded(result: DmResult, what: string): DmResult {
  if (!result.success) throw new Error(`${what} answered ${result.code}`);
  return result;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

async function runFixedWork(engine: "node" | "xs", demo: DemoRunner): Promise<FixedWorkResult> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-fixed-work-server-"));
  const platform = createNodePlatform({ stateDir, logLevel: "error" });
  const server = new LwM2mDevServer({ platform, port: 0 });
  let relay: CountingUdpRelay | undefined;
  let started = false;
  try {
    while (!server.port) await new Promise((resolve) => setTimeout(resolve, 2));
    relay = await CountingUdpRelay.open(server.port);
    relay.step = "register";
    const registered = nextEvent(server, "registered");
    started = true;
    await demo.start(`coap://127.0.0.1:${relay.port}`);
    const endpoint = (await withTimeout(registered, "Register")).endpoint;
    await relay.quiet(100);

    relay.step = "reads3_0";
    let modelNumber = "";
    for (let i = 0; i < 10; i++) {
      const read = succeeded(await withTimeout(server.read(endpoint, "/3/0"), "Read /3/0"), "Read /3/0");
      modelNumber = String(read.values?.find((entry) => entry.path === "/3/0/1")?.value ?? "");
    }
    relay.step = "reads3_0_9";
    for (let i = 0; i < 10; i++) succeeded(await withTimeout(server.read(endpoint, "/3/0/9"), "Read /3/0/9"), "Read /3/0/9");
    relay.step = "discover";
    succeeded(await withTimeout(server.discover(endpoint, "/3/0"), "Discover /3/0"), "Discover /3/0");
    relay.step = "writeUpdate";
    const updated = nextEvent(server, "updated");
    succeeded(await withTimeout(server.write(endpoint, "/1/0/1", 300), "Write /1/0/1"), "Write /1/0/1");
    await withTimeout(updated, "Update after the lifetime Write");
    await relay.quiet(200);
    relay.step = "after";
    return summarise(engine, endpoint, modelNumber, relay);
  } catch (error) {
    const log = demo.log().slice(-20).join("\n");
    throw new Error(`${error instanceof Error ? error.message : String(error)}${log ? `\n${engine} demo log:\n${log}` : ""}`);
  } finally {
    if (started) await demo.stop();
    relay?.close();
    server.close();
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function summarise(engine: "node" | "xs", endpoint: string, modelNumber: string, relay: CountingUdpRelay): FixedWorkResult {
  const counted = relay.sent.filter((datagram) => datagram.step !== "after");
  const steps = Object.fromEntries(STEPS.map((step) => [step, relay.total(step)])) as FixedWorkResult["steps"];
  const anatomy = { header: 0, token: 0, options: 0, marker: 0, payload: 0 };
  for (const { bytes } of counted) {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) throw new Error(`the client sent a datagram that is not CoAP: ${decoded.reason}`);
    const { token, payload } = decoded.message;
    anatomy.header += 4;
    anatomy.token += token.length;
    anatomy.marker += payload.length ? 1 : 0;
    anatomy.payload += payload.length;
    anatomy.options += bytes.length - 4 - token.length - (payload.length ? payload.length + 1 : 0);
  }
  const firstRead = relay.sent.find((datagram) => datagram.step === "reads3_0")!.bytes;
  const read = decodeMessage(firstRead);
  const format = read.ok ? read.message.options.find((option) => option.number === 12) : undefined;
  const updates = relay.sent.filter((datagram) => datagram.step === "writeUpdate");
  return {
    engine,
    endpoint,
    modelNumber,
    clientBytes: counted.reduce((sum, datagram) => sum + datagram.bytes.length, 0),
    datagrams: counted.length,
    steps,
    read3_0: { datagram: firstRead.length, payload: read.ok ? read.message.payload.length : 0, format: format ? format.value.reduce((n, b) => n * 256 + b, 0) : undefined },
    anatomy,
    registerHex: hex(relay.sent.find((datagram) => datagram.step === "register")!.bytes),
    updateHex: hex(updates[updates.length - 1]?.bytes ?? new Uint8Array(0)),
  };
}

let hooksRegistered = false;

/** The demo firmware run directly in Node: main.ts with "mc/config" and "hal/port" mapped to bench modules. */
function nodeDemo(): DemoRunner {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-fixed-work-node-"));
  let port: typeof import("./demo-node-port.js") | undefined;
  return {
    async start(serverUri) {
      if (!hooksRegistered) {
        const modules = { "mc/config": new URL("./demo-node-config.js", import.meta.url).href, "hal/port": new URL("./demo-node-port.js", import.meta.url).href };
        register(new URL("./demo-loader-hooks.js", import.meta.url).href, { data: { modules } });
        hooksRegistered = true;
      }
      const config = (await import("./demo-node-config.js")).default;
      Object.assign(config, { server: serverUri, stateDir, log: "info", reportInterval: REPORT_INTERVAL_MS });
      port = await import("./demo-node-port.js");
      port.demoLog.length = 0;
      const main = (await import("../main.js")).default;
      main();
    },
    async stop() {
      await port?.stopDemo();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
    log: () => port?.demoLog ?? [],
  };
}

/** The demo firmware inside XS (xsnap-worker), Node doing its I/O, as `npm start` runs it. */
function xsDemo(): DemoRunner {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-fixed-work-xs-"));
  const lines: string[] = [];
  let host: FirmwareHost | undefined;
  return {
    async start(serverUri) {
      host = new FirmwareHost({ stateDir, config: { server: serverUri, log: "info", reportInterval: REPORT_INTERVAL_MS }, writeLine: (line) => void lines.push(line) });
      await host.start();
    },
    async stop() {
      await host?.stop(5000);
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
    log: () => lines,
  };
}

export function fixedWorkInNode(): Promise<FixedWorkResult> {
  return runFixedWork("node", nodeDemo());
}

export function fixedWorkInXs(): Promise<FixedWorkResult> {
  return runFixedWork("xs", xsDemo());
}

const STEP_LABELS: Record<Step, string> = { register: "register", reads3_0: "10 reads /3/0", reads3_0_9: "10 reads /3/0/9", discover: "discover /3/0", writeUpdate: "write /1/0/1 + update" };
const thousands = (n: number) => n.toLocaleString("en-US");

/** The JSON line and the human line of one run. */
export function describeFixedWork(result: FixedWorkResult): [string, string] {
  const perStep = Object.fromEntries(STEPS.map((step) => [step, result.steps[step].bytes]));
  const json = {
    bench: "fixed-work bytes",
    engine: result.engine,
    unit: "client→server UDP payload bytes",
    clientBytes: result.clientBytes,
    datagrams: result.datagrams,
    ...perStep,
    datagramsPerStep: Object.fromEntries(STEPS.map((step) => [step, result.steps[step].datagrams])),
    read3_0Datagram: result.read3_0.datagram,
    read3_0Payload: result.read3_0.payload,
    read3_0Format: result.read3_0.format ?? null,
    anatomy: result.anatomy,
    endpoint: result.endpoint,
    modelNumber: result.modelNumber,
    reference: { ...REFERENCE_CLIENT_BYTES, note: "measured by the project against a third-party server, not here" },
  };
  const steps = STEPS.map((step) => `${STEP_LABELS[step]} ${thousands(result.steps[step].bytes)}`).join(", ");
  const ratio = (other: number) => `${Math.round((100 * result.clientBytes) / other)} %`;
  const human =
    `# fixed work in ${result.engine === "xs" ? "XS (the demo firmware in xsnap-worker, Node doing its UDP)" : "Node (the demo firmware, main.ts, run directly in Node)"}: ` +
    `the client sent ${thousands(result.clientBytes)} bytes in ${result.datagrams} datagrams (${steps}); ` +
    `one /3/0 read: ${result.read3_0.datagram}-byte datagram, ${result.read3_0.payload}-byte payload (${result.read3_0.format === 11542 ? "TLV" : `format ${result.read3_0.format}`}; /3/0/1 Model Number is the port's name, "${result.modelNumber}"); ` +
    `${ratio(REFERENCE_CLIENT_BYTES.anjayDemo)} of Anjay's demo (${thousands(REFERENCE_CLIENT_BYTES.anjayDemo)}), ${ratio(REFERENCE_CLIENT_BYTES.wakaamaDemo)} of Wakaama's (${thousands(REFERENCE_CLIENT_BYTES.wakaamaDemo)}; reference figures measured by the project against a third-party server, not here)`;
  return [JSON.stringify(json), human];
}
