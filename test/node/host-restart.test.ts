import { afterEach, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";

/**
 * Platform.restart() on the host: the runner ends the XS worker (no stop
 * handler runs: a reboot does not deregister), releases what it held, and
 * boots the firmware again in a fresh worker with the same state folder.
 */
const ENTRY = path.join(BUILD_ROOT, "test", "xs", "restart-entry.js");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const timeouts = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;

function makeHost(stateDir: string, config: Record<string, string> = {}) {
  const reports: { op: string; boots: number }[] = [];
  const lines: string[] = [];
  const restarted: number[] = [];
  const fatal: Error[] = [];
  const host = new FirmwareHost({
    stateDir,
    entry: ENTRY,
    config,
    writeLine: (line) => lines.push(line),
    onRequest: (op, header) => {
      if (op !== "boot" && op !== "stopping" && op !== "stale-timer") return undefined;
      reports.push({ op, boots: header["boots"] as number });
      return { header: {} };
    },
    onRestart: (count) => restarted.push(count),
    onFatal: (error) => fatal.push(error),
  });
  return { host, reports, lines, restarted, fatal };
}

describe("restart in the host runner", () => {
  test("the firmware boots again with its settings; the old worker and its timers are gone; stop() afterwards is clean", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-restart-"));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const before = timeouts();
    const { host, reports, lines, restarted, fatal } = makeHost(stateDir);
    await host.start();
    const firstPid = host.workerPid;
    expect(await host.whenBooted(1)).toBe(1);
    const secondPid = host.workerPid;
    expect(secondPid).not.toBe(firstPid);
    expect(alive(firstPid)).toBe(false);
    expect(alive(secondPid)).toBe(true);
    expect(host.restarts).toBe(1);
    expect(restarted).toEqual([1]);
    expect(lines).toContain("[host] firmware restarting (reboot #1)");
    // The first boot's stop handler never ran (a reboot does not deregister); the boot count persisted.
    expect(reports).toEqual([
      { op: "boot", boots: 1 },
      { op: "boot", boots: 2 },
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(stateDir, "settings.json"), "utf8"))).toMatchObject({ boots: 2 });
    expect(await host.whenBooted(1)).toBe(1); // already booted: at once

    expect(await host.stop()).toEqual({ kind: "stopped" });
    expect(reports[reports.length - 1]).toEqual({ op: "stopping", boots: 2 });
    expect(reports.filter((report) => report.op === "stopping")).toHaveLength(1);
    expect(reports.some((report) => report.op === "stale-timer")).toBe(false);
    expect(alive(secondPid)).toBe(false);
    expect(host.workerPid).toBeUndefined();
    expect(timeouts()).toBeLessThanOrEqual(before); // the 10-minute timer of the first boot was released
    expect(fatal).toEqual([]);
    expect(await host.stop()).toEqual({ kind: "stopped" });
    await expect(host.whenBooted(2)).rejects.toThrow(/stopped/);
  });

  test("a new host on the same state folder boots on from the persisted count", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-restart-"));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const first = makeHost(stateDir);
    await first.host.start();
    await first.host.whenBooted(1);
    await first.host.stop();
    // No restart this time (it restarts on boot 1 only): boot 3 from the count in settings.json.
    const second = makeHost(stateDir);
    await second.host.start();
    expect(second.reports).toEqual([{ op: "boot", boots: 3 }]);
    expect(await second.host.stop()).toEqual({ kind: "stopped" });
    expect(second.host.restarts).toBe(0);
  });

  test("a restart asked for while the entry module loads happens once the load has finished", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-restart-"));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const { host, reports, fatal } = makeHost(stateDir, { restartAt: "load" });
    await host.start();
    expect(await host.whenBooted(1)).toBe(1);
    expect(reports).toEqual([
      { op: "boot", boots: 1 },
      { op: "boot", boots: 2 },
    ]);
    expect(await host.stop()).toEqual({ kind: "stopped" });
    expect(fatal).toEqual([]);
  });

  test("stop() while the restart is under way ends with no worker left and no boot after it", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-restart-"));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const { host, reports, lines } = makeHost(stateDir);
    await host.start();
    const firstPid = host.workerPid;
    // Stop as soon as the restart is announced.
    const deadline = Date.now() + 10000;
    while (!lines.includes("[host] firmware restarting (reboot #1)") && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    const booted = host.whenBooted(1).then(
      () => "booted",
      () => "rejected",
    );
    const outcome = await host.stop();
    expect(["stopped", "failed"]).toContain(outcome.kind);
    expect(alive(firstPid)).toBe(false);
    expect(host.workerPid).toBeUndefined();
    // Either the reboot was quick enough to finish before stop() (then the new firmware stopped), or it never booted.
    const result = await booted;
    if (result === "booted") expect(reports.filter((report) => report.op === "boot")).toHaveLength(2);
    else expect(reports.filter((report) => report.op === "boot")).toHaveLength(1);
  });
});
