/**
 * Power loss during a firmware update, in XS: the firmware storage loses
 * power at 20 seeded random write/erase operations within a 1 MiB update's
 * download and activation (a seeded part of that operation reaches the
 * medium); the device reboots each time, as after a power cut. Every run
 * must end with either the new verified image active (version 2.0.0, the
 * stored image's SHA-256 that of the new image, Update Result 1) or the old
 * one (version 0.1.0, Update Result 8), never a mix. A download cut short
 * resumes from its persisted offset; the bytes fetched again are reported.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import path from "node:path";
import { FlashFirmwareStorage } from "../../hal/common/flash-firmware-storage.js";
import { PowerLossBlockDevice } from "../../hal/host/faults/power-loss-block-device.js";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import { FileBlockDevice } from "../../hal/host/node/file-block-device.js";
import { DEFAULT_FIRMWARE_AREA } from "../../hal/host/node/firmware-host.js";
import { generateKeys } from "../../tools/fota/package-signer.js";
import { MIB, openFotaRig, registrations, servePackage, sha256, signedPackage, storedPackage, waitUntil, type FotaRig } from "./fota-rig.js";

/** 20 by default; FOTA_POWER_RUNS=N runs fewer while working on it. */
const RUNS = Number(process.env["FOTA_POWER_RUNS"] ?? 20);
const SEED = 2026;
const keys = generateKeys();
/** Requests to a device that is rebooting fail within about a second instead of MAX_TRANSMIT_WAIT. */
const FAST_SERVER = { coap: { ackTimeoutMs: 300, maxRetransmit: 2 } };
const v2 = signedPackage(keys, MIB, 77, "2.0.0");
let files: Awaited<ReturnType<typeof servePackage>>;

beforeAll(async () => {
  files = await servePackage(v2.package);
});

afterAll(() => {
  files?.close();
});

async function value(rig: FotaRig, path: string): Promise<string | undefined> {
  try {
    const read = await rig.server.read(rig.endpoint, path);
    if (!read.success) return undefined;
    return read.text ?? (read.values?.[0] ? String(read.values[0].value) : undefined);
  } catch {
    return undefined; // the device is rebooting
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drives one update as a server would: writes the Package URI, executes
 * Update once Downloaded, and waits for the outcome; a device that came back
 * Idle without a download under way is given the URI again (it resumes when
 * the URI is the same). Ends with the version and result the device reports.
 */
async function driveUpdate(rig: FotaRig, beforeUpdate?: () => void): Promise<{ version: string; result: string; uriWrites: number; updates: number }> {
  let uriWrites = 0;
  let updates = 0;
  const deadline = Date.now() + 240000;
  while (Date.now() < deadline) {
    await sleep(150);
    const version = await value(rig, "/3/0/3");
    const state = await value(rig, "/5/0/3");
    const result = await value(rig, "/5/0/5");
    if (version === undefined || state === undefined || result === undefined) continue;
    if (version === "2.0.0" || result === "1" || result === "8") return { version, result, uriWrites, updates };
    if (state === "0" && (result === "0" || result === "4")) {
      const written = await rig.server.write(rig.endpoint, "/5/0/1", files.uri).catch(() => undefined);
      if (written?.success) uriWrites++;
    } else if (state === "2") {
      beforeUpdate?.();
      const executed = await rig.server.execute(rig.endpoint, "/5/0/2").catch(() => undefined);
      if (executed?.success) {
        updates++;
        const registered = registrations(rig);
        await waitUntil(() => registrations(rig) > registered, "the registration after Update", rig.lines, 60000);
      }
    } else if (result !== "0") {
      return { version, result, uriWrites, updates };
    }
  }
  throw new Error(`no outcome within the deadline\n${rig.lines.slice(-30).join("\n")}`);
}

/** What the storage device itself says: its activation result, read as the boot loader would. */
function activation(rig: FotaRig): string {
  const device = new FileBlockDevice(path.join(rig.dir, "device", "firmware.bin"), DEFAULT_FIRMWARE_AREA.bytes, DEFAULT_FIRMWARE_AREA.sectorSize);
  try {
    const storage = new FlashFirmwareStorage(device);
    storage.init();
    return storage.getActivateResult();
  } finally {
    device.close();
  }
}

describe("power loss during a firmware update", () => {
  let calibrated = { first: 0, downloaded: 0, last: 0 };

  test("calibration: the storage operations of one uninterrupted update", async () => {
    const rig = await openFotaRig("power-calibrate", { keys, server: FAST_SERVER });
    try {
      await rig.boot({ powerCutAtOperation: Number.MAX_SAFE_INTEGER });
      await waitUntil(() => registrations(rig) >= 1, "the first registration", rig.lines);
      const device = rig.host.blockDevice as PowerLossBlockDevice;
      const first = device.operationCount + 1;
      let downloaded = 0;
      const outcome = await driveUpdate(rig, () => (downloaded = device.operationCount));
      expect(outcome).toMatchObject({ version: "2.0.0", result: "1" });
      calibrated = { first, downloaded, last: device.operationCount };
      expect(calibrated.last - calibrated.first).toBeGreaterThan(256); // at least one write per 4 KiB sector, and more
      process.stdout.write(`fota power loss: one update takes storage operations ${calibrated.first}..${calibrated.last}; the download ends at ${calibrated.downloaded}\n`);
    } finally {
      await rig.close();
    }
  }, 300000);

  test(`${RUNS} power cuts at seeded points: each run ends with the new verified image or the old one, and downloads resume`, async () => {
    expect(calibrated.last).toBeGreaterThan(0);
    const random = new SeededRandom(SEED);
    const report: string[] = [];
    let resumed = 0;
    for (let run = 1; run <= RUNS; run++) {
      // Most cuts fall in the download; every fourth in its last records, the activation and the boot that checks it.
      const activationFrom = Math.max(calibrated.first, calibrated.downloaded - 4);
      const cut = run % 4 === 0 ? random.between(activationFrom, calibrated.last) : random.between(calibrated.first, calibrated.downloaded);
      const served = files.bytesServed();
      const rig = await openFotaRig(`power-${run}`, { keys, server: FAST_SERVER });
      try {
        await rig.boot({ powerCutAtOperation: cut, powerCutSeed: run });
        await waitUntil(() => registrations(rig) >= 1, "the first registration", rig.lines);
        const outcome = await driveUpdate(rig);
        // Every run downloads the whole package once; what it fetched beyond that, it fetched again after the cut.
        const again = files.bytesServed() - served - v2.package.length;
        const resumeLine = rig.lines.find((line) => / I fota: downloading .* from byte \d+$/.test(line));
        const resumedAt = resumeLine ? Number(/from byte (\d+)$/.exec(resumeLine)![1]) : undefined;
        if (resumedAt !== undefined) resumed++;
        const stored = activation(rig);
        // A cut anywhere up to the end of the download (its last records included) loses nothing: the update completes.
        if (cut <= calibrated.downloaded) expect({ run, cut, version: outcome.version }).toEqual({ run, cut, version: "2.0.0" });
        if (outcome.version === "2.0.0") {
          // The new image is active: it is the verified one, whole.
          expect({ run, cut, result: outcome.result, stored }).toEqual({ run, cut, result: "1", stored: "success" });
          expect(sha256(storedPackage(rig.dir).image(MIB))).toBe(sha256(v2.image));
        } else {
          // The old image runs: nothing was activated.
          expect({ run, cut, version: outcome.version, result: outcome.result }).toEqual({ run, cut, version: "0.1.0", result: "8" });
          expect(stored).not.toBe("success");
        }
        report.push(`run ${run}: cut at operation ${cut}: ${outcome.version === "2.0.0" ? "new image active" : "old image kept"} (result ${outcome.result})` + (resumedAt !== undefined ? `; download resumed at byte ${resumedAt}` : "") + `; ${again} bytes fetched again; reboots ${rig.host.restarts}`);
      } finally {
        await rig.close();
      }
    }
    process.stdout.write(`fota power loss (seed ${SEED}):\n${report.join("\n")}\n`);
    expect(resumed).toBeGreaterThan(0);
  }, 1800000);
});
