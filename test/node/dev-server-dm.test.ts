/**
 * The development server's device management against clients that are not
 * like our firmware (issue 13, defects 1 to 6): small block sizes, CBOR
 * writes, Send, observations across registrations, default formats and
 * format names, request validation.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { utf8Encode } from "../../modules/coap/message.js";
import { createStandardStore, type LwM2mClient } from "../../modules/lwm2m/client.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ObjectStore } from "../../modules/lwm2m/model/object-store.js";
import type { LwM2mPath } from "../../modules/lwm2m/path.js";
import type { ServerEvent } from "../../tools/dev-server/server.js";
import { ScriptedDevice, startRig, type Rig } from "./dev-server-rig.js";

const LONG = "Open Mobile Alliance Lightweight M2M, a manufacturer name long enough for several 16-byte blocks of a small client: 0123456789";
const LONGER = `${LONG} (changed, and still longer than one datagram)`;

function deviceStore(manufacturer = "Moddable Example"): ObjectStore {
  const store = createStandardStore();
  const device = store.get(3)!.createInstance(0);
  device.set(0, manufacturer);
  device.set(9, 90);
  device.set(11, new Map([[0, 0]]));
  device.set(14, "+01:00");
  device.set(15, "Europe/Berlin");
  store.get(19)!.createInstance(0).set(0, new Map([[0, new Uint8Array(0)]]));
  store.get(19)!.createInstance(1).set(0, new Map([[0, new Uint8Array(0)]]));
  return store;
}

function send(client: LwM2mClient, paths: LwM2mPath[]): Promise<void> {
  return new Promise((resolve, reject) => client.send(paths, (error) => (error ? reject(error) : resolve())));
}

const isNotification = (endpoint: string, path: string) => (event: ServerEvent): event is Extract<ServerEvent, { type: "notification" }> => event.type === "notification" && event.endpoint === endpoint && event.path === path;
const isSend = (endpoint: string) => (event: ServerEvent): event is Extract<ServerEvent, { type: "send" }> => event.type === "send" && event.endpoint === endpoint;

let rig: Rig;
let store: ObjectStore;
let dev1: LwM2mClient;

beforeAll(async () => {
  rig = await startRig({ autoObserve: ["/19/0/0"] });
  store = deviceStore();
  dev1 = await rig.client("dev1", store);
});

afterAll(async () => {
  await rig.close();
});

describe("defect 1: block-wise transfers are followed", () => {
  let small: ObjectStore;
  let client: LwM2mClient;

  beforeAll(async () => {
    small = deviceStore(LONG);
    // 128-byte messages and 16-byte blocks, as the C client that showed the defect.
    client = await rig.client("small1", small, { coap: { maxMessageSize: 128, preferredSzx: 0 } });
  });

  test("a Read gives the whole value (Block2)", async () => {
    expect((await rig.api("GET", "/clients/small1/read?path=/3/0/0")).json).toMatchObject({ code: "2.05", success: true, text: LONG });
    const all = await rig.api("GET", "/clients/small1/read?path=/3/0&accept=110");
    expect(all.json.values).toContainEqual({ path: "/3/0/0", value: LONG });
  });

  test("an Observe gives the whole first response and whole notifications (Block2 follow-ups)", async () => {
    const first = await rig.api("POST", "/clients/small1/observe", { path: "/3/0/0" });
    expect(first.json).toMatchObject({ code: "2.05", text: LONG });
    const since = rig.events.length;
    small.get(3)!.instance(0)!.set(0, LONGER);
    const notification = await rig.event(isNotification("small1", "/3/0/0"), since);
    expect(notification.result).toMatchObject({ success: true, text: LONGER });
    expect((await rig.api("DELETE", "/clients/small1/observe?path=/3/0/0")).status).toBe(200);
  });

  test("a Write larger than the client's datagram, and larger than the server's, goes Block1", async () => {
    const zone = `Zone/${"z".repeat(300)}`;
    expect((await rig.api("POST", "/clients/small1/write", { path: "/3/0/15", value: zone })).json).toMatchObject({ code: "2.04" });
    expect(small.get(3)!.instance(0)!.get(15)).toBe(zone);
    const huge = `Zone/${"h".repeat(3000)}`;
    expect((await rig.api("POST", "/clients/small1/write", { path: "/3/0/15", value: huge })).json).toMatchObject({ code: "2.04" });
    expect(small.get(3)!.instance(0)!.get(15)).toBe(huge);
  });

  test("a Send in blocks (Block1) arrives whole and decoded", async () => {
    const sent = rig.event(isSend("small1"));
    await send(client, [{ objectId: 3, instanceId: 0, resourceId: 0 }]);
    expect((await sent).result.values).toEqual([{ path: "/3/0/0", value: small.get(3)!.instance(0)!.get(0) }]);
  });
});

describe("defect 2: writes in SenML CBOR (112) and CBOR (60) carry CBOR", () => {
  test.each([
    [112, "+03:00"],
    [60, "+04:00"],
    ["senml-cbor", "+05:00"],
    ["CBOR", "+06:00"],
  ])("format %s", async (format, value) => {
    const result = await rig.api("POST", "/clients/dev1/write", { path: "/3/0/14", value, format });
    expect(result.json).toMatchObject({ code: "2.04", success: true });
    expect(store.get(3)!.instance(0)!.get(14)).toBe(value);
  });

  test("a multiple resource in SenML CBOR", async () => {
    const result = await rig.api("POST", "/clients/dev1/write", { path: "/19/1/0", value: { hex: "0102" }, format: 112 });
    expect(result.json.code).toBe("2.04");
    expect(store.get(19)!.instance(1)!.get(0)).toEqual(new Map([[0, Uint8Array.of(1, 2)]]));
  });
});

describe("defect 3: Send data is decoded against the paths it names", () => {
  test("the send event carries the values", async () => {
    const sent = rig.event(isSend("dev1"));
    await send(dev1, [
      { objectId: 3, instanceId: 0, resourceId: 9 },
      { objectId: 3, instanceId: 0, resourceId: 15 },
    ]);
    const event = await sent;
    expect(event.result).toMatchObject({ code: "2.04", success: true, format: ContentFormat.SenmlCbor });
    expect(event.result.values).toEqual([
      { path: "/3/0/9", value: 90 },
      { path: "/3/0/15", value: "Europe/Berlin" },
    ]);
  });
});

describe("defect 4: observations end with their clients", () => {
  test("dropped on deregistration; only the auto-observations come back on re-registration", async () => {
    const gone = await rig.client("dev4", deviceStore());
    expect((await rig.api("POST", "/clients/dev4/observe", { path: "/3/0/9" })).json.code).toBe("2.05");
    const mine = async () => (await rig.api("GET", "/observations")).json.filter((o: { endpoint: string }) => o.endpoint === "dev4");
    expect(await mine()).toEqual([
      { endpoint: "dev4", path: "/19/0/0" },
      { endpoint: "dev4", path: "/3/0/9" },
    ]);
    const deregistered = rig.event((event) => event.type === "deregistered" && event.endpoint === "dev4");
    await rig.stopClient(gone);
    await deregistered;
    expect(await mine()).toEqual([]);
    await rig.client("dev4", deviceStore());
    expect(await mine()).toEqual([{ endpoint: "dev4", path: "/19/0/0" }]);
  });

  test("dropped on expiry, and on a new Register of the same endpoint", async () => {
    const device = new ScriptedDevice(rig.platform, rig.server.port);
    device.answer = (request, exchange) => {
      if (request.method !== Method.GET) return exchange.respond({ code: ResponseCode.NotFound });
      exchange.acceptObserve();
      exchange.respond({ code: ResponseCode.Content, contentFormat: ContentFormat.TextPlain, payload: utf8Encode("1") });
    };
    try {
      await device.register("dev4b", '</>;rt="oma.lwm2m",</3/0>,</19/0>', ["lt=300", "lwm2m=1.1"]);
      await rig.server.observe("dev4b", "/3/0/9");
      const list = () => rig.server.listObservations().filter((o) => o.endpoint === "dev4b").map((o) => o.path);
      expect(list()).toEqual(["/19/0/0", "/3/0/9"]);
      await device.register("dev4b", '</>;rt="oma.lwm2m",</3/0>,</19/0>', ["lt=1", "lwm2m=1.1"]);
      expect(list()).toEqual(["/19/0/0"]);
      await rig.event((event) => event.type === "deregistered" && event.endpoint === "dev4b" && event.reason === "expired");
      expect(list()).toEqual([]);
    } finally {
      device.close();
    }
  });
});

describe("defect 5: default read format from the registration; format names", () => {
  let device: ScriptedDevice;
  beforeAll(() => {
    device = new ScriptedDevice(rig.platform, rig.server.port);
    // SenML JSON only: anything else is 4.06, as a client built without TLV answers.
    device.answer = (request, exchange) => {
      if (request.method === Method.GET && request.path === "/3/0" && request.accept === ContentFormat.SenmlJson) {
        return exchange.respond({ code: ResponseCode.Content, contentFormat: ContentFormat.SenmlJson, payload: utf8Encode('[{"bn":"/3/0/","n":"0","vs":"Acme"},{"n":"9","v":55}]') });
      }
      if (request.method === Method.GET && request.accept === ContentFormat.LwM2mTlv) {
        return exchange.respond({ code: ResponseCode.Content, contentFormat: ContentFormat.LwM2mTlv, payload: encodeTlv({ objectId: 3, instanceId: 0 }, [{ path: { objectId: 3, instanceId: 0, resourceId: 9 }, value: 12, type: "integer" }], new Set()) });
      }
      if (request.method === Method.PUT) return exchange.respond({ code: ResponseCode.Changed });
      exchange.respond({ code: ResponseCode.NotAcceptable });
    };
  });
  afterAll(() => device.close());

  test("a client announcing ct=110 is read in SenML JSON", async () => {
    await device.register("dev5", '</>;rt="oma.lwm2m";ct=110,</3/0>');
    const read = await rig.api("GET", "/clients/dev5/read?path=/3/0");
    expect(read.json).toMatchObject({ code: "2.05", format: ContentFormat.SenmlJson });
    expect(read.json.values).toEqual([
      { path: "/3/0/0", value: "Acme" },
      { path: "/3/0/9", value: 55 },
    ]);
  });

  test('a quoted list (ct="60 110") and a 1.0 client without ct (TLV)', async () => {
    await device.register("dev5", '</>;rt="oma.lwm2m";ct="60 110",</3/0>');
    expect((await rig.api("GET", "/clients/dev5/read?path=/3/0")).json.code).toBe("2.05");
    await device.register("dev5", "</1/0>,</3/0>", ["lt=300", "lwm2m=1.0"]);
    const read = await rig.api("GET", "/clients/dev5/read?path=/3/0");
    expect(read.json).toMatchObject({ code: "2.05", values: [{ path: "/3/0/9", value: 12 }] });
  });

  test("format names in the HTTP API, any case, - or _", async () => {
    await device.register("dev5", '</>;rt="oma.lwm2m";ct=110,</3/0>');
    for (const name of ["senml-json", "SENML_JSON", "Senml_Json"]) {
      expect((await rig.api("GET", `/clients/dev5/read?path=/3/0&accept=${name}`)).json).toMatchObject({ code: "2.05", format: 110 });
    }
    expect((await rig.api("GET", "/clients/dev5/read?path=/3/0&accept=tlv")).json).toMatchObject({ code: "2.05", format: 11542 });
    expect((await rig.api("GET", "/clients/dev1/read?path=/3/0&accept=SENML_CBOR")).json).toMatchObject({ code: "2.05", format: 112 });
    expect((await rig.api("GET", "/clients/dev1/read?path=/3/0/0&accept=text")).json).toMatchObject({ code: "2.05", format: 0, text: "Moddable Example" });
    expect((await rig.api("POST", "/clients/dev1/write", { path: "/3/0/14", value: "+07:00", format: "text" })).json.code).toBe("2.04");
    expect((await rig.api("POST", "/clients/dev1/write", { path: "/19/1/0/0", value: { hex: "ff" }, format: "opaque" })).json.code).toBe("2.04");
    expect((await rig.api("POST", "/clients/dev1/observe", { path: "/3/0/9", format: "senml-cbor" })).json).toMatchObject({ code: "2.05", format: 112 });
    expect((await rig.api("DELETE", "/clients/dev1/observe?path=/3/0/9")).status).toBe(200);
  });

  test("an unknown name is a 400 that lists the names", async () => {
    const read = await rig.api("GET", "/clients/dev1/read?path=/3/0&accept=senml-xml");
    expect(read.status).toBe(400);
    for (const name of ["text", "opaque", "cbor", "senml-json", "senml-cbor", "tlv", "lwm2m-cbor"]) expect(read.json.error).toContain(name);
    expect((await rig.api("POST", "/clients/dev1/write", { path: "/3/0/14", value: "x", format: "json!" })).status).toBe(400);
    expect((await rig.api("POST", "/clients/dev1/write", { path: "/3/0/14", value: "x", format: -3 })).status).toBe(400);
  });
});

describe("defect 6: request validation", () => {
  let device: ScriptedDevice;
  beforeAll(async () => {
    device = new ScriptedDevice(rig.platform, rig.server.port);
    device.answer = (_request, exchange) => exchange.respond({ code: ResponseCode.Changed });
    await device.register("dev6", '</>;rt="oma.lwm2m",</3/0>');
  });
  afterAll(() => device.close());

  test("attributes: numbers checked, unknown names refused, never an empty PUT", async () => {
    const before = device.requests.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ pmin: "abc" }, "pmin"],
      [{ pmax: -1 }, "pmax"],
      [{ epmin: 1.5 }, "epmin"],
      [{ gt: "high" }, "gt"],
      [{ st: -2 }, "st"],
      [{ foo: 3 }, "foo"],
      [{}, "attribute"],
    ];
    for (const [attributes, named] of cases) {
      const result = await rig.api("POST", "/clients/dev6/attributes", { path: "/3/0/9", ...attributes });
      expect(result.status).toBe(400);
      expect(result.json.error).toContain(named);
    }
    expect(device.requests.length).toBe(before);
    expect((await rig.api("POST", "/clients/dev6/attributes", { path: "/3/0/9", pmin: "5", pmax: 60, gt: 20.5, lt: null })).json.code).toBe("2.04");
    expect(device.requests.at(-1)).toMatchObject({ method: Method.PUT, path: "/3/0/9", query: ["pmin=5", "pmax=60", "gt=20.5", "lt"] });
    await expect(rig.server.writeAttributes("dev6", "/3/0/9", { pmin: Number("x") })).rejects.toThrow(/pmin/);
  });

  test("expiresInSeconds must be a positive number", async () => {
    for (const expiresInSeconds of ["soon", 0, -5, null, true]) {
      const result = await rig.api("POST", "/clients/dev6/commands", { text: "on", expiresInSeconds });
      expect(result.status).toBe(400);
      expect(result.json.error).toContain("expiresInSeconds");
    }
    expect((await rig.api("POST", "/clients/nobody6/commands", { text: "on", expiresInSeconds: 30 })).status).toBe(202);
  });

  test("DELETE /commands/ID: 404 unknown, 409 not cancellable, 200 cancelled", async () => {
    expect((await rig.api("DELETE", "/commands/999")).status).toBe(404);
    expect((await rig.api("DELETE", "/commands/abc")).status).toBe(404);
    const waiting = await rig.api("POST", "/clients/nobody6/commands", { text: "later" });
    const cancelled = await rig.api("DELETE", `/commands/${waiting.json.id}`);
    expect(cancelled).toEqual({ status: 200, json: { cancelled: true } });
    const again = await rig.api("DELETE", `/commands/${waiting.json.id}`);
    expect(again.status).toBe(409);
    expect(again.json.error).toContain("cancelled");
  });
});

describe("strict mode", () => {
  test("our own clients, block-wise transfers included, broke no rule", () => {
    const ours = rig.server.violations.violations.filter((violation) => ["dev1", "small1", "dev4"].includes(violation.endpoint ?? ""));
    expect(ours).toEqual([]);
  });
});
