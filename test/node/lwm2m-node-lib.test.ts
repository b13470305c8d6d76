import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import { freeUdpPort } from "./udp-port.js";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";

/**
 * Interoperability with a third-party LwM2M server: npm lwm2m-node-lib 1.4.0
 * (Telefónica's), driving our client through registration, read, write,
 * execute, discover, write-attributes, observe and deregistration.
 * Its quirks (from reading it): it ACKs no CON message from the client, so the
 * client answers piggybacked and sends NON notifications here; it writes
 * with the legacy text format 1541; it allows one server per process.
 */
const require = createRequire(import.meta.url);
type Callback<T = unknown> = (error: unknown, result?: T) => void;
interface Lwm2mServerLib {
  start(config: object, callback: Callback<object>): void;
  stop(info: object, callback: Callback): void;
  setHandler(info: object, type: string, handler: (...args: unknown[]) => void): void;
  getDevice(name: string, callback: Callback<{ id: number; name: string; lifetime: string }>): void;
  read(id: number, objectId: number, instanceId: number, resourceId: number, callback: Callback<string>): void;
  write(id: number, objectId: number, instanceId: number, resourceId: number, value: string, callback: Callback): void;
  execute(id: number, objectId: number, instanceId: number, resourceId: number, args: string | null, callback: Callback): void;
  discover(id: number, objectId: number, instanceId: number, callback: Callback<string>): void;
  writeAttributes(id: number, objectId: number, instanceId: number, resourceId: number, attributes: object, callback: Callback): void;
  observe(id: number, objectId: number, instanceId: number, resourceId: number, handler: (value: string) => void, callback: Callback<string>): void;
  cancelObserver(id: number, objectId: number, instanceId: number, resourceId: number, callback: Callback): void;
}
const lwm2m = (require("lwm2m-node-lib") as { server: Lwm2mServerLib }).server;
// Same hoisted coap instance the server uses: fail fast instead of after 247 s.
(require("coap") as { updateTiming(timing: object): void }).updateTiming({ ackTimeout: 0.5, ackRandomFactor: 1, maxRetransmit: 2, maxLatency: 1 });

function call<T>(invoke: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((error, result) => (error ? reject(error instanceof Error ? error : new Error(JSON.stringify(error))) : resolve(result as T))));
}

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "lwm2m-node-lib-"));
const platform = createNodePlatform({ stateDir, logLevel: "warn" });

describe("our client with the lwm2m-node-lib server", () => {
  let info: object;
  let client: LwM2mClient;
  let deviceId = 0;
  const events: LifecycleEvent[] = [];
  const registrations: unknown[][] = [];
  const unregistrations: unknown[] = [];
  const store = createStandardStore();
  const device = store.get(3)!.createInstance(0);
  const executed: string[] = [];

  beforeAll(async () => {
    const port = await freeUdpPort();
    info = await call<object>((callback) =>
      lwm2m.start({ port, serverProtocol: "udp4", defaultType: "Device", types: [], logLevel: "FATAL", deviceRegistry: { type: "memory" }, lifetimeCheckInterval: 1000 }, callback),
    );
    lwm2m.setHandler(info, "registration", (...args: unknown[]) => {
      registrations.push(args.slice(0, 5));
      (args[5] as () => void)();
    });
    lwm2m.setHandler(info, "unregistration", (...args: unknown[]) => {
      unregistrations.push(args[0]);
      (args[1] as () => void)();
    });
    device.set(0, "Moddable Example");
    device.set(1, "XS-1");
    device.set(9, 70);
    device.set(11, new Map([[0, 0]]));
    device.set(14, "+01:00");
    device.set(16, "U");
    device.bind(4, { execute: (args) => void executed.push(args) });
    const transport = new UdpTransport(platform.net);
    client = new LwM2mClient({
      endpointName: "xs-interop-1",
      transport,
      time: platform.time,
      random: platform.random,
      servers: [{ uri: `coap://127.0.0.1:${port}`, lifetime: 300 }],
      store,
      confirmableNotifications: () => false,
      onEvent: (event) => events.push(event),
    });
    while (!transport.localPort) await new Promise((resolve) => setTimeout(resolve, 2));
    client.start();
    const deadline = Date.now() + 5000;
    while (client.registrationState() !== "registered" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    deviceId = (await call<{ id: number }>((callback) => lwm2m.getDevice("xs-interop-1", callback))).id;
  });

  afterAll(async () => {
    await call((callback) => lwm2m.stop(info, callback));
    platform.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("registers with ep, lifetime, version, binding and the object links", () => {
    expect(client.registrationState()).toBe("registered");
    expect(registrations[0]!.slice(0, 4)).toEqual(["xs-interop-1", "300", "1.1", "U"]);
    expect(String(registrations[0]![4])).toContain("</3/0>");
    expect(String(registrations[0]![4])).not.toContain("</0/");
    expect(events[0]?.type).toBe("registered");
  });

  test("read", async () => {
    expect(await call<string>((callback) => lwm2m.read(deviceId, 3, 0, 0, callback))).toBe("Moddable Example");
    expect(await call<string>((callback) => lwm2m.read(deviceId, 3, 0, 9, callback))).toBe("70");
    await expect(call((callback) => lwm2m.read(deviceId, 3, 0, 2, callback))).rejects.toThrow(/NOT_FOUND|4\.04/);
  });

  test("write (legacy text format 1541)", async () => {
    await call((callback) => lwm2m.write(deviceId, 3, 0, 14, "+03:00", callback));
    expect(device.get(14)).toBe("+03:00");
    await expect(call((callback) => lwm2m.write(deviceId, 3, 0, 0, "nope", callback))).rejects.toThrow(/4\.05/);
  });

  test("execute", async () => {
    await call((callback) => lwm2m.execute(deviceId, 3, 0, 4, null, callback));
    expect(executed).toEqual([""]);
  });

  test("discover", async () => {
    const links = await call<string>((callback) => lwm2m.discover(deviceId, 3, 0, callback));
    expect(links).toContain("</3/0/0>");
    expect(links).toContain("</3/0/11>;dim=1");
  });

  test("write attributes and observe", async () => {
    await call((callback) => lwm2m.writeAttributes(deviceId, 3, 0, 9, { pmin: 0, pmax: 60 }, callback));
    const values: string[] = [];
    const first = await call<string>((callback) => lwm2m.observe(deviceId, 3, 0, 9, (value) => values.push(value), callback));
    expect(first).toBe("70");
    device.set(9, 65);
    const deadline = Date.now() + 3000;
    while (values.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(values).toEqual(["65"]);
    await call((callback) => lwm2m.cancelObserver(deviceId, 3, 0, 9, callback));
  });

  test("deregisters when stopped", async () => {
    await new Promise<void>((resolve) => client.stop(resolve));
    expect(unregistrations.length).toBe(1);
    expect(events.some((event) => event.type === "unregistered")).toBe(true);
  });
});
