/**
 * Acceptance 2 of issue 11: the full firmware in XS on an emulated ESP8266,
 * SIM900A and BC95 (pty), reporting every second, while the emulator injects
 * each fault in turn: garbage bytes, a URC split across reads, a URC inside a
 * command response, ERROR replies, silence, a spontaneous reset, link drops
 * and a slow line. After each fault the stack recovers (the modem is
 * re-initialised where it has to be, links reopen, the registration goes on)
 * and reports succeed again; the firmware never crashes; every report whose
 * status said SENT_SUCCESS reached the server, and none arrived twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import type { ModemKind } from "../../modules/at/modem-net.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";
import { modemConfig } from "../../tools/start-modem.js";
import { startEmulator, type ModemEmulator } from "../modem/start.js";

const HAVE_SOCAT = spawnSync("sh", ["-c", "command -v socat"]).status === 0;
if (!HAVE_SOCAT) process.stderr.write("modem-faults.test: skipped, socat is missing (apt-get install socat)\n");
const maybe = HAVE_SOCAT ? describe : describe.skip;

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each fault, and what undoes it when it is a state rather than an event (the slow line). */
const FAULTS: readonly { name: string; inject: (emulator: ModemEmulator) => void; undo?: (emulator: ModemEmulator) => void }[] = [
  { name: "garbage bytes", inject: (emulator) => emulator.injectGarbage(300) },
  { name: "a URC split across reads", inject: (emulator) => emulator.splitNextUrc() },
  { name: "a URC inside a command response", inject: (emulator) => emulator.interleaveNextUrc() },
  { name: "ERROR replies", inject: (emulator) => emulator.errorNext(3) },
  { name: "silence", inject: (emulator) => emulator.silence(20000) },
  { name: "a spontaneous reset", inject: (emulator) => emulator.reset() },
  { name: "link drops", inject: (emulator) => emulator.drop() },
  { name: "a slow line (9600 baud)", inject: (emulator) => emulator.throttle(960), undo: (emulator) => emulator.throttle(0) },
];

const SUCCESS = /report #(\d+) \((t=[0-9.-]+)\): SENT_SUCCESS/;
const ANY_REPORT = /report #(\d+) \((t=[0-9.-]+)\): /;

maybe("the firmware on an emulated modem under injected faults (XS, pty)", () => {
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "modem-faults-"));
  const platform = createNodePlatform({ stateDir: path.join(stateRoot, "server"), logLevel: "warn" });
  let server: LwM2mDevServer;
  const events: ServerEvent[] = [];

  beforeAll(async () => {
    server = new LwM2mDevServer({ platform, port: 0, autoObserve: ["/19/0/0"] });
    server.on("event", (event: ServerEvent) => events.push(event));
    const deadline = Date.now() + 3000;
    while (!server.port && Date.now() < deadline) await wait(5);
  });

  afterAll(() => {
    server?.close();
    platform.close();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  const modems = (process.env["MODEM_FAULTS_MODEMS"]?.split(",") ?? ["esp8266", "sim900a", "bc95"]) as ModemKind[];
  for (const modem of modems) {
    test(`${modem}: recovers from every fault; no successful report lost or duplicated`, async () => {
      const endpoint = `faults-${modem}`;
      const lines: string[] = [];
      let fatal: Error | undefined;
      const running = await startEmulator({ modem, ssid: "lab-ap", password: "lab-secret", startUpLines: true });
      const host = new FirmwareHost({
        stateDir: path.join(stateRoot, endpoint),
        config: { ...modemConfig({ modem, serial: running.devicePath!, ssid: "lab-ap", password: "lab-secret" }), server: `coap://127.0.0.1:${server.port}`, endpoint, reportInterval: 1000, log: "info" },
        serialPath: running.devicePath!,
        writeLine: (line) => lines.push(line),
        onFatal: (error) => (fatal = error),
      });
      const successes = () => lines.filter((line) => SUCCESS.test(line)).length;
      const until = async (condition: () => boolean, what: string, ms: number) => {
        const deadline = Date.now() + ms;
        while (!condition()) {
          if (fatal) throw fatal;
          if (Date.now() > deadline) {
            const file = path.join(os.tmpdir(), `modem-faults-${modem}.log`);
            fs.writeFileSync(file, `${lines.join("\n")}\n`);
            throw new Error(`${modem}: timed out waiting for ${what}; the whole firmware log is in ${file}; its end:\n${lines.filter((line) => !line.includes("refused (queue full)")).slice(-60).join("\n")}`);
          }
          await wait(50);
        }
      };
      const recoveries: string[] = [];
      try {
        await host.start();
        await until(() => server.registry.get(endpoint) !== undefined && successes() >= 2, "registration and two successful reports", 60000);
        // MODEM_FAULTS=silence,reset narrows the run while debugging.
        const only = process.env["MODEM_FAULTS"]?.split(",");
        for (const fault of FAULTS.filter((candidate) => !only || only.some((name) => candidate.name.includes(name)))) {
          const before = successes();
          const startedAt = Date.now();
          fault.inject(running.emulator);
          // Recovered: two more reports succeed after the fault began (the slow line stays slow meanwhile).
          await until(() => successes() >= before + 2, `recovery from ${fault.name}`, 120000);
          recoveries.push(`${fault.name} ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
          fault.undo?.(running.emulator);
        }
        await wait(2500); // the last notifications' server-side events
      } finally {
        await host.stop(10000);
        await running.close();
      }
      process.stderr.write(`modem-faults ${modem}: ${recoveries.join(", ")}; ${successes()} reports succeeded\n`);
      expect(lines.some((line) => /firmware failed|uncaught|TypeError|RangeError/.test(line))).toBe(false);

      // Every SENT_SUCCESS report reached the observer; no report text arrived more often than it was sent.
      const notified = new Map<string, number>();
      for (const event of events) {
        if (event.type !== "notification" || event.endpoint !== endpoint || event.path !== "/19/0/0") continue;
        const text = String(event.result.text ?? "");
        notified.set(text, (notified.get(text) ?? 0) + 1);
      }
      const sent = new Map<string, Set<string>>();
      for (const line of lines) {
        const match = ANY_REPORT.exec(line);
        if (match) sent.set(match[2]!, (sent.get(match[2]!) ?? new Set()).add(match[1]!));
      }
      const lost: string[] = [];
      for (const line of lines) {
        const match = SUCCESS.exec(line);
        if (match && !notified.has(match[2]!)) lost.push(`#${match[1]} ${match[2]}`);
      }
      expect(lost).toEqual([]);
      const duplicated = [...notified].filter(([text, count]) => count > (sent.get(text)?.size ?? 0));
      expect(duplicated).toEqual([]);
    }, 600000);
  }
});
