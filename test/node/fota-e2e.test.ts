/**
 * Firmware update end to end, in XS: the demo firmware on the host runner,
 * the development server hosting signed 1 MiB packages. Pull (CoAP Block2)
 * and push (Block1 into /5/0/0) each end with the image activated, its
 * SHA-256 matching, the firmware restarted, Update Result 1 and the new
 * version in /3/0/3; tampered, wrongly signed and truncated packages, an
 * invalid URI and an unsupported scheme each end in their Update Result with
 * nothing activated.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { generateKeys, signPackage } from "../../tools/fota/package-signer.js";
import { MIB, openFotaRig, registrations, results, sha256, signedPackage, storedPackage, waitUntil, type FotaRig } from "./fota-rig.js";

let rig: FotaRig;
const v2 = { image: new Uint8Array(0), package: new Uint8Array(0) };
const v3 = { image: new Uint8Array(0), package: new Uint8Array(0) };

beforeAll(async () => {
  rig = await openFotaRig("e2e");
  Object.assign(v2, signedPackage(rig.keys, MIB, 21, "2.0.0"));
  Object.assign(v3, signedPackage(rig.keys, MIB, 22, "3.0.0"));
  rig.server.fota.store.put("fw-2.0.0", v2.package);
  rig.server.fota.store.put("fw-3.0.0", v3.package);
  await rig.boot();
  await waitUntil(() => registrations(rig) >= 1, "the first registration", rig.lines);
}, 60000);

afterAll(async () => {
  await rig?.close();
});

async function update(image: string, method: "pull" | "push"): Promise<ReturnType<typeof results>[number]> {
  const before = results(rig).length;
  rig.server.fota.start(rig.endpoint, { image, method });
  await waitUntil(() => results(rig).length > before, `the outcome of ${method} ${image}`, rig.lines, 240000);
  return results(rig)[before]!;
}

describe("firmware update of the firmware in XS through the development server", () => {
  test("pull: a 1 MiB signed image over CoAP Block2 is verified, activated, and the restarted firmware reports result 1 and version 2.0.0", async () => {
    const restarts = rig.host.restarts;
    const outcome = await update("fw-2.0.0", "pull");
    expect(outcome).toMatchObject({ result: 1, success: true, version: "2.0.0" });
    expect(rig.host.restarts).toBe(restarts + 1);
    const stored = storedPackage(rig.dir);
    expect(stored.header).toMatchObject({ version: "2.0.0", imageLength: MIB });
    expect(sha256(stored.image(MIB))).toBe(sha256(v2.image));
    expect(rig.lines.some((line) => / I fota: update to 2\.0\.0 activated: running it$/.test(line))).toBe(true);
    const read = await rig.server.read(rig.endpoint, "/3/0/3");
    expect(read.text ?? read.values?.[0]?.value).toBe("2.0.0");
  }, 300000);

  test("push: a 1 MiB signed image written block-wise to /5/0/0 is verified, activated, and reports result 1 and version 3.0.0", async () => {
    const outcome = await update("fw-3.0.0", "push");
    expect(outcome).toMatchObject({ result: 1, success: true, version: "3.0.0" });
    expect(sha256(storedPackage(rig.dir).image(MIB))).toBe(sha256(v3.image));
    const progress = rig.events.filter((event) => event.type === "fota-progress" && event.transport === "push");
    expect(progress.length).toBeGreaterThan(2);
  }, 300000);

  test("a tampered image, a wrong signature and a truncated download end in Update Result 5; nothing is activated", async () => {
    const tampered = v2.package.slice();
    tampered[tampered.length - 1000] = tampered[tampered.length - 1000]! ^ 0x10;
    const otherSigner = signPackage(v2.image, generateKeys().privateKeyPem, { version: "6.6.6", name: "demo-fw" });
    const truncated = v2.package.slice(0, v2.package.length - 4096);
    rig.server.fota.store.put("tampered", tampered);
    rig.server.fota.store.put("wrong-signature", otherSigner);
    rig.server.fota.store.put("truncated", truncated);
    const restarts = rig.host.restarts;
    for (const image of ["tampered", "wrong-signature", "truncated"]) {
      const outcome = await update(image, "pull");
      expect({ image, result: outcome.result }).toEqual({ image, result: 5 });
    }
    expect(rig.host.restarts).toBe(restarts);
    const read = await rig.server.read(rig.endpoint, "/3/0/3");
    expect(read.text ?? read.values?.[0]?.value).toBe("3.0.0");
    expect(rig.lines.filter((line) => / W fota: package of \d+ bytes refused \(Update Result 5\)/.test(line)).length).toBe(3);
  }, 300000);

  test("an invalid URI ends in Update Result 7 and an unsupported scheme in 9, each refused with 4.00", async () => {
    const cases: [string, string][] = [
      ["coap://[::1/fw", "7"],
      ["no scheme at all", "7"],
      ["ftp://127.0.0.1/fw", "9"],
      ["https://127.0.0.1/fw", "9"],
    ];
    for (const [uri, result] of cases) {
      const written = await rig.server.write(rig.endpoint, "/5/0/1", uri);
      expect({ uri, code: written.code }).toEqual({ uri, code: "4.00" });
      const read = await rig.server.read(rig.endpoint, "/5/0/5");
      expect({ uri, result: read.text ?? String(read.values?.[0]?.value) }).toEqual({ uri, result });
      const state = await rig.server.read(rig.endpoint, "/5/0/3");
      expect(state.text ?? String(state.values?.[0]?.value)).toBe("0");
    }
  }, 120000);
});

describe("an update job whose device reboots mid-download", () => {
  test("defect: the job followed State only through observations the reboot ended, so it stalled; it observes again after the re-registration and ends in success", async () => {
    const cut = await openFotaRig("job-reboot", { server: { fota: { stallTimeoutMs: 30000 } } });
    try {
      cut.server.fota.store.put("fw-5.0.0", signedPackage(cut.keys, MIB / 2, 50, "5.0.0").package);
      // Power fails at the 150th storage operation: some 100 KiB into the download.
      await cut.boot({ powerCutAtOperation: 150 });
      await waitUntil(() => registrations(cut) >= 1, "the first registration", cut.lines);
      cut.server.fota.start(cut.endpoint, { image: "fw-5.0.0", method: "pull" });
      await waitUntil(() => results(cut).length > 0, "the job's outcome", cut.lines, 120000);
      expect(cut.lines.some((line) => line.includes("[host] power lost"))).toBe(true);
      expect(results(cut)[0]).toMatchObject({ result: 1, success: true, version: "5.0.0" });
    } finally {
      await cut.close();
    }
  }, 180000);
});
