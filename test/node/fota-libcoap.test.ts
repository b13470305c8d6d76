/**
 * A pull from a CoAP server that is not ours: libcoap 4.3.1's example server
 * (Debian libcoap3-bin, coap-server-openssl with dynamic resources) holds a
 * signed 1 MiB package PUT into it by libcoap's own client; the firmware in
 * XS is told its Package URI by the development server, downloads it with
 * Block2 from libcoap, verifies it, and after Update and the restart reports
 * result 1 and the new version. Skipped with a message when libcoap is
 * missing, except under CI.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { MIB, openFotaRig, registrations, sha256, signedPackage, storedPackage, waitUntil, type FotaRig } from "./fota-rig.js";
import { freeUdpPort } from "./udp-port.js";

const HAVE_LIBCOAP = spawnSync("sh", ["-c", "command -v coap-server-openssl && command -v coap-client-notls"]).status === 0;
if (!HAVE_LIBCOAP) {
  const message = "fota-libcoap.test: libcoap3-bin is not installed (apt-get install libcoap3-bin)";
  if (process.env["CI"]) throw new Error(message);
  process.stderr.write(`${message}; skipped\n`);
}
const maybe = HAVE_LIBCOAP ? describe : describe.skip;

let rig: FotaRig;
let libcoap: ChildProcess | undefined;
let port = 0;

beforeAll(async () => {
  if (!HAVE_LIBCOAP) return;
  rig = await openFotaRig("libcoap");
  port = await freeUdpPort();
  libcoap = spawn("coap-server-openssl", ["-A", "127.0.0.1", "-p", String(port), "-d", "4"], { stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await rig.boot();
  await waitUntil(() => registrations(rig) >= 1, "the first registration", rig.lines);
}, 60000);

afterAll(async () => {
  libcoap?.kill();
  await rig?.close();
});

async function resourceValue(path: string): Promise<string | undefined> {
  const read = await rig.server.read(rig.endpoint, path);
  return read.text ?? (read.values?.[0] ? String(read.values[0].value) : undefined);
}

maybe("a firmware update pulled from libcoap's coap-server", () => {
  test("the firmware downloads a 1 MiB signed package from coap-server-openssl, updates, restarts and reports result 1 and version 4.1.0", async () => {
    const v4 = signedPackage(rig.keys, MIB, 41, "4.1.0");
    const file = path.join(rig.dir, "package.xfw");
    fs.writeFileSync(file, v4.package);
    const put = spawnSync("coap-client-notls", ["-m", "put", "-b", "1024", "-f", file, "-B", "60", `coap://127.0.0.1:${port}/fw`], { encoding: "latin1" });
    expect(put.status).toBe(0);

    const uri = `coap://127.0.0.1:${port}/fw`;
    expect((await rig.server.write(rig.endpoint, "/5/0/1", uri)).code).toBe("2.04");
    const deadline = Date.now() + 180000;
    let state = await resourceValue("/5/0/3");
    while (state !== "2" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = await resourceValue("/5/0/3");
    }
    expect({ state, result: await resourceValue("/5/0/5") }).toEqual({ state: "2", result: "0" });
    expect(await resourceValue("/5/0/7")).toBe("4.1.0");
    const registered = registrations(rig);
    expect((await rig.server.execute(rig.endpoint, "/5/0/2")).code).toBe("2.04");
    await waitUntil(() => registrations(rig) > registered, "the registration after the restart", rig.lines);
    expect(rig.host.restarts).toBe(1);
    expect(await resourceValue("/5/0/5")).toBe("1");
    expect(await resourceValue("/3/0/3")).toBe("4.1.0");
    expect(sha256(storedPackage(rig.dir).image(MIB))).toBe(sha256(v4.image));
    expect(rig.lines.some((line) => line.includes(`I fota: downloading ${uri}`))).toBe(true);
  }, 300000);
});
