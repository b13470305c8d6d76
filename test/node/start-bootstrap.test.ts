/**
 * `npm start -- --bootstrap coap://HOST:PORT --bootstrap-mode client-initiated`
 * (issue 9, item 6 and acceptance 3): the demo firmware in XS is provisioned
 * by the development server's bootstrap role (Delete "/", Write /0 and /1,
 * Finish), registers with the server it was given, and its reports reach the
 * observer of /19/0/0. A --server beside client-initiated is not used.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";

const START = path.join(BUILD_ROOT, "tools", "start.js");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "start-bootstrap-"));
const serverPlatform = createNodePlatform({ stateDir: path.join(stateDir, "server"), logLevel: "error" });
let server: LwM2mDevServer;
const events: ServerEvent[] = [];

interface Firmware {
  readonly process: ChildProcess;
  output: string;
}
const firmwares: Firmware[] = [];
let decoy: dgram.Socket;
const decoyDatagrams: Buffer[] = [];

function waitUntil(check: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}\n${firmwares.map((f) => f.output.split("\n").slice(-15).join("\n")).join("\n---\n")}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

function startFirmware(args: string[]): Firmware {
  const child = spawn(process.execPath, [START, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const firmware: Firmware = { process: child, output: "" };
  child.stdout!.on("data", (chunk: Buffer) => (firmware.output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (firmware.output += chunk.toString()));
  firmwares.push(firmware);
  return firmware;
}

function stopFirmware(firmware: Firmware): Promise<number | null> {
  if (firmware.process.exitCode !== null) return Promise.resolve(firmware.process.exitCode);
  const exited = new Promise<number | null>((resolve) => firmware.process.on("exit", (code) => resolve(code)));
  firmware.process.kill("SIGINT");
  return exited;
}

/** The report texts the firmware logged as SENT_SUCCESS. */
function sentReports(firmware: Firmware): string[] {
  return Array.from(firmware.output.matchAll(/ I agent: report #\d+ \((t=[0-9.-]+)\): SENT_SUCCESS/g), (match) => match[1]!);
}

function notificationsOf(endpoint: string): string[] {
  return events.flatMap((e) => (e.type === "notification" && e.endpoint === endpoint && e.path === "/19/0/0" && e.result.text !== undefined ? [e.result.text] : []));
}

let plain: Firmware;
let withServer: Firmware;

beforeAll(async () => {
  server = new LwM2mDevServer({ platform: serverPlatform, port: 0, autoObserve: ["/19/0/0"], bootstrap: { port: 0, lifetime: 60 } });
  server.on("event", (event: ServerEvent) => void events.push(event));
  await waitUntil(() => server.port > 0 && server.bootstrapPort > 0, "the server's ports");
  decoy = dgram.createSocket("udp4");
  decoy.on("message", (message) => void decoyDatagrams.push(message));
  await new Promise<void>((resolve) => decoy.bind(0, "127.0.0.1", resolve));
  const bootstrap = `coap://127.0.0.1:${server.bootstrapPort}`;
  const common = ["--bootstrap", bootstrap, "--bootstrap-mode", "client-initiated", "--report-interval", "200", "--log", "info"];
  plain = startFirmware([...common, "--endpoint", "bs-demo", "--state-dir", path.join(stateDir, "plain")]);
  withServer = startFirmware([...common, "--endpoint", "bs-demo-server", "--server", `coap://127.0.0.1:${decoy.address().port}`, "--state-dir", path.join(stateDir, "with-server")]);
}, 30000);

afterAll(async () => {
  for (const firmware of firmwares) if (firmware.process.exitCode === null) firmware.process.kill("SIGKILL");
  decoy?.close();
  server?.close();
  serverPlatform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("npm start --bootstrap-mode client-initiated with the development server's bootstrap role", () => {
  test("provisioned by Delete /, Write /0 and /1, Finish; registers with the provisioned server; reports reach the observer of /19/0/0", async () => {
    await waitUntil(() => events.some((e) => e.type === "registered" && e.endpoint === "bs-demo") && /registered with server \d+/.test(plain.output), "the registration after bootstrap");
    const record = server.bootstraps.find((r) => r.endpoint === "bs-demo")!;
    expect(record.status).toBe("finished");
    const operations = record.steps.map((s) => `${s.operation} ${s.path} ${s.code}`);
    expect(operations.filter((o) => !o.startsWith("Bootstrap-Discover"))).toEqual(["Bootstrap-Delete / 2.02", "Bootstrap-Write /0 2.04", "Bootstrap-Write /1 2.04", "Bootstrap-Finish /bs 2.04"]);
    expect(plain.output).toMatch(/registered with server \d+/);
    expect(plain.output).not.toMatch(/\[server\]/); // no development server of its own in client-initiated mode
    // The server may see a notification before the device prints its SENT_SUCCESS: wait for both sides.
    await waitUntil(() => notificationsOf("bs-demo").length >= 3 && sentReports(plain).length >= 3, "3 reports sent and at the observer of /19/0/0");
    const sent = sentReports(plain);
    expect(notificationsOf("bs-demo").slice(0, 3)).toEqual(sent.slice(0, 3));
    expect(server.violations.count).toBe(0);
  }, 60000);

  test("a --server beside client-initiated is ignored: logged, never contacted; the device registers where the bootstrap server says", async () => {
    await waitUntil(() => events.some((e) => e.type === "registered" && e.endpoint === "bs-demo-server"), "the registration after bootstrap");
    expect(withServer.output).toMatch(/ server coap:\/\/127\.0\.0\.1:\d+ is ignored in client-initiated mode/);
    expect(server.bootstraps.find((r) => r.endpoint === "bs-demo-server")?.status).toBe("finished");
    await waitUntil(() => notificationsOf("bs-demo-server").length >= 1, "a report at the observer of /19/0/0");
    expect(decoyDatagrams).toEqual([]);
  }, 60000);

  test("both deregister on SIGINT and exit 0", async () => {
    expect(await stopFirmware(plain)).toBe(0);
    expect(await stopFirmware(withServer)).toBe(0);
    expect(events.filter((e) => e.type === "deregistered").map((e) => (e as { endpoint: string }).endpoint).sort()).toEqual(["bs-demo", "bs-demo-server"]);
  }, 20000);
});

describe("npm start --bootstrap-mode: refused combinations", () => {
  const run = (args: string[]) => spawnSync(process.execPath, [START, ...args], { encoding: "utf8", timeout: 20000 });

  test("an unknown mode names the allowed values", () => {
    const result = run(["--bootstrap-mode", "server-initiated", "--bootstrap", "coap://127.0.0.1:5783"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--bootstrap-mode must be factory, client-initiated or sequence, got "server-initiated"/);
  });

  test("client-initiated and sequence need --bootstrap", () => {
    for (const mode of ["client-initiated", "sequence"]) {
      const result = run(["--bootstrap-mode", mode, "--server", "coap://127.0.0.1:5683"]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`--bootstrap-mode ${mode} needs --bootstrap coap://HOST:PORT`));
    }
  });

  test("--help documents --bootstrap-mode", () => {
    const result = run(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--bootstrap-mode factory\|client-initiated\|sequence/);
  });
});
