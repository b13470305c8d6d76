/**
 * Acceptance 1 of issue 11: the full firmware (main.ts) in the XS engine,
 * its network through an emulated ESP8266, SIM900A and BC95 on a pty
 * (socat), registers with the development server, reports data to the
 * server's /19/0/0 observer and takes a downlink command on /19/1/0, over
 * plain CoAP and over DTLS PSK. The emulators relay the module's links to
 * this machine's UDP sockets, so the server sees ordinary datagrams.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadNodeDtlsEngine } from "../../hal/host/node/dtls/node-dtls.js";
import { FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { xsnapWorkerBinary } from "../../hal/host/node/xs-worker.js";
import type { ModemKind } from "../../modules/at/modem-net.js";
import { modemConfig } from "../../tools/start-modem.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";
import { startEmulator } from "../modem/start.js";

const HAVE_SOCAT = spawnSync("sh", ["-c", "command -v socat"]).status === 0;
if (!HAVE_SOCAT) process.stderr.write("modem-firmware.test: skipped, socat is missing (apt-get install socat)\n");
const maybe = HAVE_SOCAT ? describe : describe.skip;
const ENGINE = loadNodeDtlsEngine();
const WORKER = xsnapWorkerBinary();
const dtlsWhy = !ENGINE.engine ? ENGINE.missing : !WORKER.dtls ? `the XS worker has no DTLS binding (${WORKER.missing ?? "npm run build:worker"})` : undefined;
if (dtlsWhy) process.stderr.write(`modem-firmware.test: DTLS cases skipped, ${dtlsWhy}\n`);

const IDENTITY = "modem-dev";
const KEY = Uint8Array.from([0x6d, 0x6f, 0x64, 0x65, 0x6d, 0x2d, 0x6b, 0x65, 0x79]);
const KEY_HEX = Buffer.from(KEY).toString("hex");

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string, lines: string[], ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; firmware log:\n${lines.slice(-60).join("\n")}`);
    await wait(20);
  }
}

maybe("the firmware through an emulated AT modem (XS, pty)", () => {
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "modem-firmware-"));
  const platform = createNodePlatform({ stateDir: path.join(stateRoot, "server"), logLevel: "warn" });
  let server: LwM2mDevServer;
  const events: ServerEvent[] = [];

  beforeAll(async () => {
    server = new LwM2mDevServer({ platform, port: 0, autoObserve: ["/19/0/0"], ...(dtlsWhy ? {} : { dtls: { port: 0, psk: new Map([[IDENTITY, KEY]]) } }) });
    server.on("event", (event: ServerEvent) => events.push(event));
    const deadline = Date.now() + 3000;
    while ((!server.port || (!dtlsWhy && !server.dtlsPort)) && Date.now() < deadline) await wait(5);
  });

  afterAll(() => {
    server?.close();
    platform.close();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  const cases: [ModemKind, boolean][] = [
    ["esp8266", false],
    ["sim900a", false],
    ["bc95", false],
    ["esp8266", true],
    ["sim900a", true],
    ["bc95", true],
  ];
  for (const [modem, secure] of cases) {
    const run = secure && dtlsWhy ? test.skip : test;
    run(`${modem}${secure ? " over DTLS" : ""}: registers, reports to the observer and takes a downlink command`, async () => {
      const endpoint = `modem-${modem}${secure ? "-dtls" : ""}`;
      const lines: string[] = [];
      const trace: string[] = [];
      const emulator = await startEmulator({ modem, ssid: "lab-ap", password: "lab-secret", startUpLines: true, log: (line) => trace.push(line) });
      const config = {
        ...modemConfig({ modem, serial: emulator.devicePath!, ssid: "lab-ap", password: "lab-secret" }),
        server: secure ? `coaps://127.0.0.1:${server.dtlsPort}` : `coap://127.0.0.1:${server.port}`,
        ...(secure ? { pskId: IDENTITY, psk: KEY_HEX } : {}),
        endpoint,
        reportInterval: 1000,
        log: "debug",
      };
      const host = new FirmwareHost({
        stateDir: path.join(stateRoot, endpoint),
        config,
        serialPath: emulator.devicePath!,
        writeLine: (line) => lines.push(line),
      });
      try {
        await host.start();
        await until(() => server.registry.get(endpoint) !== undefined, `${endpoint} to register`, lines, 60000);
        const registered = events.find((event) => event.type === "registered" && event.endpoint === endpoint);
        if (secure) expect(registered).toMatchObject({ pskIdentity: IDENTITY });
        await until(() => events.some((event) => event.type === "notification" && event.endpoint === endpoint && event.path === "/19/0/0"), "a report at the observer", lines);
        await until(() => lines.some((line) => /report #\d+ \(t=[0-9.]+\): SENT_SUCCESS/.test(line)), "a report's SENT_SUCCESS", lines);
        server.sendCommand(endpoint, new TextEncoder().encode(`led on via ${modem}`), { expiresInMs: 30000 });
        await until(() => lines.some((line) => line.includes(`downlink on /19/1: "led on via ${modem}"`)), "the downlink command", lines);
        await until(() => events.some((event) => event.type === "command" && event.command.endpoint === endpoint && event.command.status === "success"), "the command's success", lines);
        // The traffic really went through the module: the firmware's side of the AT dialogue and the emulator's agree.
        const sendCommand = modem === "bc95" ? "AT+NSOST=" : "AT+CIPSEND=";
        expect(lines.some((line) => line.includes(`> ${sendCommand}`))).toBe(true);
        expect(trace.some((line) => line.includes(sendCommand))).toBe(true);
        expect(lines.some((line) => line.includes("modem ready"))).toBe(true);
        // The Wi-Fi password and the PSK never reach the console.
        for (const line of lines) {
          expect(line).not.toContain("lab-secret");
          expect(line).not.toContain(KEY_HEX);
        }
      } finally {
        const outcome = await host.stop(8000);
        await emulator.close();
        expect(outcome.kind).toBe("stopped");
      }
      expect(lines.some((line) => line.includes("deregistered"))).toBe(true);
    }, 120000);
  }
});
