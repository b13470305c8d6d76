/**
 * The demo firmware (main.ts) running in XS against the strict development
 * server: 20 reports, each SENT_SUCCESS and received exactly once, in order,
 * with zero rule violations; then the content format each kind of observer
 * gets.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { ContentFormat } from "../../modules/coap/constants.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";

const REPORTS = 20;
const ENDPOINT = "strict-demo";

let stateDir: string;
let server: LwM2mDevServer;
let serverPlatform: ReturnType<typeof createNodePlatform> | undefined;
let host: FirmwareHost;
const lines: string[] = [];
const notifications: { path: string; format: number | undefined; text: string | undefined }[] = [];

function waitUntil(check: () => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}\n${lines.slice(-20).join("\n")}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

/** The data of each report the firmware logged with `status`, in report order. */
function reportsWith(status: string): string[] {
  const found: [number, string][] = [];
  for (const line of lines) {
    const match = / I agent: report #(\d+) \((t=[0-9.-]+)\): (\w+)$/.exec(line);
    if (match && match[3] === status) found.push([Number(match[1]), match[2]!]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, text]) => text);
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "demo-strict-"));
  serverPlatform = createNodePlatform({ stateDir: path.join(stateDir, "server"), logLevel: "warn" });
  server = new LwM2mDevServer({ platform: serverPlatform, port: 0, autoObserve: ["/19/0/0"] });
  server.on("event", (event: ServerEvent) => {
    if (event.type === "notification" && event.endpoint === ENDPOINT) notifications.push({ path: event.path, format: event.result.format, text: event.result.text });
  });
  await waitUntil(() => server.port > 0, "the server's port");
  host = new FirmwareHost({
    stateDir: path.join(stateDir, "device"),
    config: { server: `coap://127.0.0.1:${server.port}`, endpoint: ENDPOINT, reportInterval: "150", lifetime: "60" },
    writeLine: (line) => void lines.push(line),
  });
  await host.start();
}, 60000);

afterAll(async () => {
  await host?.stop(5000);
  server?.close();
  serverPlatform?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("the demo in XS against the strict development server", () => {
  test(`${REPORTS} reports: each SENT_SUCCESS, received exactly once and in order, with zero violations`, async () => {
    await waitUntil(() => reportsWith("SENT_SUCCESS").length >= REPORTS, `${REPORTS} reports`);
    expect(server.strict).toBe(true);
    const sent = reportsWith("SENT_SUCCESS").slice(0, REPORTS);
    const received = notifications.filter((n) => n.path === "/19/0/0").map((n) => n.text);
    expect(received.slice(0, REPORTS)).toEqual(sent);
    expect(lines.filter((line) => / I agent: report #\d+ .*: (SENT_GET_RST|SENT_TIME_OUT|SENT_FAIL)$/.test(line))).toEqual([]);
    expect(notifications.filter((n) => n.path === "/19/0/0").every((n) => n.format === ContentFormat.OctetStream)).toBe(true);
    expect(server.violations.count).toBe(0);
  }, 90000);

  test("an observer of /19/0/0 with Accept 112 gets SenML CBOR, one without Accept opaque, an observer of /19/0 with Accept 11542 TLV", async () => {
    const before = notifications.length;
    // Given no Accept, the server would ask for the format the firmware announced (ct=112).
    await server.observe(ENDPOINT, "/19/0", ContentFormat.LwM2mTlv);
    await server.observe(ENDPOINT, "/19/0/0", ContentFormat.SenmlCbor); // replaces the auto-observation without Accept
    await waitUntil(() => notifications.slice(before).some((n) => n.path === "/19/0") && notifications.slice(before).some((n) => n.path === "/19/0/0" && n.format === ContentFormat.SenmlCbor), "notifications of both observations");
    const fresh = notifications.slice(before);
    expect(fresh.filter((n) => n.path === "/19/0").every((n) => n.format === ContentFormat.LwM2mTlv)).toBe(true);
    expect(fresh.filter((n) => n.path === "/19/0/0").slice(-1)[0]!.format).toBe(ContentFormat.SenmlCbor);
    expect(server.violations.count).toBe(0);
  }, 60000);
});
