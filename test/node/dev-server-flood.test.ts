/**
 * Flood control: a client notifying thousands of times a second must not
 * fill the console, the /events stream and the kept events; what is dropped
 * is counted and shown.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { ResponseCode } from "../../modules/coap/constants.js";
import { printEvents } from "../../tools/dev-server/console.js";
import { describeEvent } from "../../tools/dev-server/describe.js";
import { EventLog } from "../../tools/dev-server/flood-control.js";
import { ProgressDisplay } from "../../tools/dev-server/fota/progress-display.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer, type ServerEvent } from "../../tools/dev-server/server.js";
import { RawLwM2mClient } from "./raw-lwm2m-client.js";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-flood-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

const notification = (endpoint: string, n: number): ServerEvent => ({ type: "notification", endpoint, path: "/3/0/13", result: { code: "2.05", success: true, text: String(n) } });

describe("defect 10: flood control", () => {
  test("defect 10: each client's notifications pass at the configured rate; the rest are counted and summed up", () => {
    const source = new EventEmitter();
    let now = 0;
    const log = new EventLog(source, platform.time, { ratePerSecond: 10, burst: 20, historySize: 30, now: () => now });
    const passed: ServerEvent[] = [];
    log.on("event", (event: ServerEvent) => passed.push(event));
    source.emit("event", { type: "registered", endpoint: "noisy", location: "/rd/1", lifetime: 300, binding: "U", version: "1.1", objects: [] });
    for (let n = 0; n < 5000; n++) source.emit("event", notification("noisy", n));
    for (let n = 0; n < 3; n++) source.emit("event", notification("quiet", n));
    expect(passed.filter((event) => event.type === "notification" && event.endpoint === "noisy")).toHaveLength(20);
    expect(passed.filter((event) => event.type === "notification" && event.endpoint === "quiet")).toHaveLength(3);
    expect(passed[0]).toMatchObject({ type: "registered" }); // never dropped
    log.flush();
    const summary = passed[passed.length - 1]!;
    expect(summary).toEqual({ type: "dropped", endpoint: "noisy", count: 4980, total: 4980, byType: { notification: 4980 } });
    expect(describeEvent(summary)).toBe("flood control: 4980 notifications from noisy not shown (4980 in all; see --event-rate)");
    // A second later the bucket holds 10 more; the count goes on.
    now += 1000;
    for (let n = 0; n < 100; n++) source.emit("event", notification("noisy", n));
    log.flush();
    expect(passed[passed.length - 1]).toMatchObject({ type: "dropped", endpoint: "noisy", count: 90, total: 5070 });
    expect(log.droppedCounts()).toEqual({ noisy: 5070 });
    // What is kept is bounded.
    expect(log.recent()).toHaveLength(30); // of the 36 passed on
    log.close();
  });

  describe("on a running server", () => {
    let server: LwM2mDevServer;
    let httpServer: http.Server;
    let base = "";
    let raw: RawLwM2mClient;
    const everything: ServerEvent[] = [];
    /** What the console (npm run dev-server, npm start) prints. */
    const printed: string[] = [];

    beforeAll(async () => {
      // The buckets' clock stands still: exactly the burst passes, whatever the machine's speed.
      server = new LwM2mDevServer({ platform, port: 0, autoObserve: ["/3/0/13"], events: { ratePerSecond: 10, burst: 25, historySize: 100, summaryIntervalMs: 50, now: () => 0 } });
      server.on("event", (event: ServerEvent) => everything.push(event));
      printEvents(server, new ProgressDisplay({ write: () => true }), (line) => printed.push(line));
      await until(() => server.port > 0, "the CoAP port");
      httpServer = await startHttpApi(server, 0);
      base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
      raw = await RawLwM2mClient.open(server.port);
      raw.onRequest = () => ({ code: ResponseCode.Content, payload: "0", observe: 1 });
    });

    afterAll(() => {
      raw.close();
      httpServer.closeAllConnections();
      httpServer.close();
      server.close();
      platform.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    });

    test("defect 10: thousands of notifications: /events carries the burst and a count of the rest; GET /clients and /events/recent show it", async () => {
      const controller = new AbortController();
      const stream = await fetch(`${base}/events`, { signal: controller.signal });
      const reader = stream.body!.getReader();
      let seen = "";
      const reading = (async () => {
        for (;;) {
          const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (chunk.done) return;
          seen += new TextDecoder().decode(chunk.value);
        }
      })();
      await raw.register("noisy");
      await until(() => raw.requestsFor("/3/0/13").length > 0, "the auto-observe");
      const observe = raw.requestsFor("/3/0/13")[0]!;
      for (let n = 2; n < 3002; n++) {
        raw.notify(observe, n, String(n));
        if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      // Every notification the server decoded (UDP on loopback may lose some) was either streamed or counted.
      const received = () => everything.filter((event) => event.type === "notification").length;
      const streamedEvents = () => seen.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)) as ServerEvent);
      const summed = () => streamedEvents().reduce((sum, event) => sum + (event.type === "dropped" ? event.count : 0), 0);
      await until(async () => received() > 100 && summed() === received() - 25 && ((await (await fetch(`${base}/clients/noisy`)).json()) as { droppedEvents: number }).droppedEvents === received() - 25, "every notification streamed or counted");
      const dropped = received() - 25;
      controller.abort();
      await reading;
      expect(streamedEvents().filter((event) => event.type === "notification")).toHaveLength(25);
      expect(streamedEvents().filter((event) => event.type === "dropped").length).toBeGreaterThan(0);
      const recent = (await (await fetch(`${base}/events/recent`)).json()) as { events: { at: number; event: ServerEvent }[]; dropped: Record<string, number> };
      expect(recent.dropped).toEqual({ noisy: dropped });
      expect(recent.events.length).toBeLessThanOrEqual(100);
      expect(recent.events.filter((kept) => kept.event.type === "notification")).toHaveLength(25);
      // The console prints the same: the burst, then "flood control" lines with the counts.
      expect(printed.filter((line) => line.startsWith("notification noisy /3/0/13"))).toHaveLength(25);
      expect(printed.filter((line) => line.startsWith("flood control: ")).length).toBeGreaterThan(0);
      expect(printed.find((line) => line.startsWith("flood control: "))).toMatch(/^flood control: \d+ notifications? from noisy not shown \(\d+ in all; see --event-rate\)$/);
    });
  });
});
