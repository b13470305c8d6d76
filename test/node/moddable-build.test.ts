import { afterAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { LwM2mDevServer } from "../../tools/dev-server/server.js";
import { createPtyPair } from "../modem/pty-pair.js";
import { startEmulator } from "../modem/start.js";
import { freeUdpPort } from "./udp-port.js";

/**
 * Builds the firmware for the Linux simulator with the Moddable SDK's mcconfig
 * and checks that the mbedtls binding (modules/dtls) is linked; then runs
 * mcsim headless (Xvfb, the SDK's xsbug-log) against libcoap's DTLS servers.
 * Needs a Moddable SDK (README: "Moddable SDK"); skipped when MODDABLE is unset.
 * Builds go to folders under os.tmpdir() kept between runs (mcconfig runs tsc
 * per module: minutes when cold, make redoes only what changed).
 */
const MODDABLE = process.env["MODDABLE"];
const ROOT = process.cwd();
const KEY = "secretPSK";
const KEY_HEX = Buffer.from(KEY).toString("hex");
const OUT = path.join(os.tmpdir(), `xs-lwm2m-moddable-test-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}`);

if (!MODDABLE) {
  process.stderr.write("moddable-build.test: skipped, MODDABLE is unset (install the Moddable SDK to check the mcconfig build)\n");
}

function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

const ENV = {
  ...process.env,
  PATH: [path.join(ROOT, "node_modules", ".bin"), path.join(MODDABLE ?? "", "build", "bin", "lin", "release"), process.env["PATH"]].join(path.delimiter),
};

/** mcconfig -d -m -p lin -t build in `dir` into OUT/<name>; retried once from a clean app folder (a TypeScript change breaks old ones). */
function build(dir: string, name: string, config: string[]): { status: number | null; log: string; so: string } {
  const out = path.join(OUT, name);
  const run = () => (fs.mkdirSync(out, { recursive: true }), spawnSync("mcconfig", ["-d", "-m", "-p", "lin", "-t", "build", "-o", out, ...config], { cwd: dir, env: ENV, encoding: "utf8", timeout: 900000 }));
  let result = run();
  if (result.status !== 0) {
    fs.rmSync(out, { recursive: true, force: true });
    result = run();
  }
  const log = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0) process.stderr.write(log.slice(-4000));
  return { status: result.status, log, so: path.join(out, "bin", "lin", "mc", "debug", path.basename(dir), "mc.so") };
}

const children: { kill(signal?: NodeJS.Signals): boolean }[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGTERM");
});

/** Xvfb on a display of our own (none is shared with other runs). */
async function display(): Promise<string | undefined> {
  if (!onPath("Xvfb")) return process.env["DISPLAY"];
  const number = 40 + (process.pid % 200);
  const xvfb = spawn("Xvfb", [`:${number}`, "-screen", "0", "640x480x24", "-nolisten", "tcp"], { stdio: "ignore" });
  children.push(xvfb);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return `:${number}`;
}

/** Runs mcsim under the SDK's xsbug-log until `until` matches its output (or timeout); returns the output. */
async function runSimulator(so: string, displayName: string, until: RegExp, timeoutMs: number): Promise<string> {
  const port = 20000 + (process.pid % 20000);
  const tools = path.join(MODDABLE!, "tools", "xsbug-log");
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "mcsim-"));
  const env = { ...ENV, DISPLAY: displayName, XSBUG_LOG_PORT: String(port), XSBUG_PORT: String(port), XSBUG_HOST: "localhost", XSBUG_PROJECT: project };
  const sim = spawn("node", ["xsbug-log", path.join(MODDABLE!, "build", "bin", "lin", "release", "mcsim"), so], { cwd: tools, env, stdio: ["pipe", "pipe", "pipe"] });
  children.push(sim);
  let output = "";
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) {
        clearTimeout(timer);
        setTimeout(resolve, 500);
      }
    };
    sim.stdout.on("data", take);
    sim.stderr.on("data", take);
  });
  sim.stdin.write("quit\n");
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      sim.kill("SIGKILL");
      resolve();
    }, 5000);
    sim.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  fs.rmSync(project, { recursive: true, force: true });
  return output;
}

/** A libcoap server with PSK on a free port of 127.0.0.1. */
async function coapServer(command: string): Promise<number> {
  const port = await freeUdpPort();
  const server = spawn(command, ["-A", "127.0.0.1", "-p", String(port), "-k", KEY, "-h", ""], { stdio: "ignore" });
  children.push(server);
  await new Promise((resolve) => setTimeout(resolve, 500));
  return port + 1; // libcoap serves DTLS on the port after the plain one
}

/** Whether the LwM2M layer routes coaps:// through modules/dtls (the integration of issue 10). */
function lwm2mUsesDtls(): boolean {
  const folders = ["modules/lwm2m", "modules/agent", "modules/app"].map((folder) => path.join(ROOT, folder));
  return folders.some((folder) => fs.existsSync(folder) && fs.readdirSync(folder).some((file) => file.endsWith(".ts") && /from "\.\.\/dtls\//.test(fs.readFileSync(path.join(folder, file), "utf8"))));
}

const simulatorReady = Boolean(MODDABLE) && process.platform === "linux" && (onPath("Xvfb") || Boolean(process.env["DISPLAY"])) && fs.existsSync(path.join(MODDABLE ?? "", "tools", "xsbug-log", "node_modules"));
const canProbe = simulatorReady && onPath("coap-server-openssl");
if (MODDABLE && !canProbe) process.stderr.write("moddable-build.test: the mcsim DTLS checks are skipped (they need Linux, Xvfb or DISPLAY, npm install in $MODDABLE/tools/xsbug-log, and coap-server-openssl from libcoap3-bin)\n");

describe("Moddable build", () => {
  (MODDABLE ? test : test.skip)("mcconfig -d -m -p lin builds the firmware with the mbedtls bindings (DTLS, crypto) linked", () => {
    const result = build(ROOT, "firmware", ["endpoint=ci-build"]);
    expect(result.status).toBe(0);
    // A build that is up to date compiles nothing: the binding's objects and library are checked on the output.
    expect(fs.existsSync(result.so)).toBe(true);
    const ldd = spawnSync("ldd", [result.so], { encoding: "utf8" }).stdout;
    expect(ldd).toMatch(/libmbedtls\.so/);
    expect(ldd).toMatch(/libmbedcrypto\.so/);
    const symbols = spawnSync("nm", ["-D", "--defined-only", result.so], { encoding: "utf8" }).stdout;
    for (const name of ["xs_dtls_session", "xs_dtls_session_destructor", "xs_dtls_random_fill", "xs_crypto_sha256", "xs_crypto_verify_p256"]) expect(symbols).toMatch(new RegExp(`\\b${name}\\b`));
  }, 900000);

  // The simulator's own DTLS: handshake, CoAP exchange and resumption from mcsim, with the app in test/moddable/dtls-probe.
  (canProbe ? test : test.skip)("mcsim completes a DTLS PSK handshake and a CoAP exchange with coap-server-openssl, and resumes", async () => {
    const port = await coapServer("coap-server-openssl");
    const built = build(path.join(ROOT, "test", "moddable", "dtls-probe"), "dtls-probe", [`server=coaps://127.0.0.1:${port}`, "pskId=probe", `psk=${KEY_HEX}`]);
    expect(built.status).toBe(0);
    const output = await runSimulator(built.so, (await display())!, /dtls-probe: done/, 60000);
    if (!/round 2: 2\.05/.test(output)) process.stderr.write(output.slice(-4000));
    expect(output).toMatch(/dtls-probe: engine present; random [0-9a-f]{16}/);
    expect(output).toMatch(/dtls-probe: round 1: 2\.05 \(\d+ B\), suite 0xc0a8, resumed false, flights 3/);
    expect(output).toMatch(/dtls-probe: round 2: 2\.05 \(\d+ B\), suite 0xc0a8, resumed true/);
    expect(output).toMatch(/dtls-probe: done; live sessions 0/);
  }, 900000);

  // DEPENDS ON THE INTEGRATION (Security object PSK → DTLS in modules/lwm2m): skipped until the LwM2M layer imports modules/dtls.
  const integrated = lwm2mUsesDtls();
  if (canProbe && !integrated) process.stderr.write("moddable-build.test: 'registers over DTLS in mcsim' is skipped: the LwM2M layer does not use modules/dtls yet\n");
  (canProbe && integrated && onPath("coap-rd-openssl") ? test : test.skip)("the firmware in mcsim registers over DTLS with coap-rd-openssl (needs the LwM2M DTLS integration)", async () => {
    const port = await coapServer("coap-rd-openssl");
    const built = build(ROOT, "firmware-dtls", [`server=coaps://127.0.0.1:${port}`, "pskId=ci-dtls", `psk=${KEY_HEX}`, "endpoint=ci-dtls", "reportInterval=1000"]);
    expect(built.status).toBe(0);
    const output = await runSimulator(built.so, (await display())!, /registered with server/, 60000);
    if (!/registered with server/.test(output)) process.stderr.write(output.slice(-4000));
    expect(output).toMatch(/starting on moddable\/simulator/);
    expect(output).toMatch(/registered with server \d+ at \/rd\//);
  }, 900000);

  // The Moddable serial port (hal/moddable/serial.ts on embedded:io/serial): mcsim's UART is one end of a pty, an emulated ESP8266 the other.
  (simulatorReady && onPath("socat") ? test : test.skip)("the firmware in mcsim registers through an emulated ESP8266 on a pty (modem=esp8266 modemUart=TTY)", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "mcsim-modem-"));
    const platform = createNodePlatform({ stateDir, logLevel: "warn" });
    const server = new LwM2mDevServer({ platform, port: 0 });
    const ptyDir = path.join(OUT, "modem-pty");
    fs.mkdirSync(ptyDir, { recursive: true });
    const pair = await createPtyPair({ dir: ptyDir });
    const emulator = await startEmulator({ modem: "esp8266", tty: pair.modemPath, ssid: "sim-lab", password: "sim-secret", startUpLines: true });
    try {
      while (!server.port) await new Promise((resolve) => setTimeout(resolve, 5));
      const built = build(ROOT, "firmware-modem", ["modem=esp8266", `modemUart=${pair.devicePath}`, "modemSsid=sim-lab", "modemPassword=sim-secret", `server=coap://127.0.0.1:${server.port}`, "endpoint=ci-modem", "reportInterval=1000"]);
      expect(built.status).toBe(0);
      const output = await runSimulator(built.so, (await display())!, /registered with server/, 60000);
      if (!/registered with server/.test(output)) process.stderr.write(output.slice(-4000));
      expect(output).toMatch(/network through an AT modem \(esp8266\)/);
      expect(output).toMatch(/modem ready: address 192\.168\.4\.2/);
      expect(output).toMatch(/registered with server \d+ at \/rd\//);
      expect(emulator.emulator.trace.some((entry) => entry.text.includes("AT+CIPSEND="))).toBe(true);
    } finally {
      await emulator.close();
      await pair.close();
      server.close();
      platform.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }, 900000);
});
