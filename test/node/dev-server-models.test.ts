/**
 * Issue 13, defects 11 and 12: object models from OMA DDF files (`--models
 * DIR`) for objects outside the standard set, and clients without object 19.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { ObjectStore } from "../../modules/lwm2m/model/object-store.js";
import { defineObject } from "../../modules/lwm2m/model/types.js";
import { STANDARD_OBJECTS } from "../../modules/lwm2m/objects/index.js";
import { parseDdf } from "../../tools/dev-server/ddf.js";
import { loadModelDirectory } from "../../tools/dev-server/models.js";
import { parseXml } from "../../tools/dev-server/xml.js";
import type { ServerEvent } from "../../tools/dev-server/server.js";
import { startRig, type Rig } from "./dev-server-rig.js";

const MODELS = path.join(process.cwd(), "test", "node", "fixtures", "models");

/** The fixture's object as the device defines it. */
const GREENHOUSE = defineObject(10299, "Greenhouse Climate", { version: "1.2", multiple: true, mandatory: false }, [
  [0, "Bed Name", "RW", "single", "mandatory", "string"],
  [1, "Air Temperature", "R", "single", "mandatory", "float"],
  [2, "Target Temperature", "RW", "single", "optional", "float", [5, 35]],
  [3, "Window Open", "RW", "single", "optional", "boolean"],
  [4, "Calibrate", "E", "single", "optional", "none"],
  [5, "Soil Moisture Readings", "R", "multiple", "optional", "unsigned"],
  [6, "Sensor Serial", "RW", "single", "optional", "opaque"],
]);

describe("defect 11: object models from DDF files", () => {
  test("the XML parser: elements, attributes, entities, CDATA, comments; errors name the line", () => {
    const root = parseXml('<?xml version="1.0"?>\n<!-- c -->\n<a x="1" y=\'&lt;2&gt;\'><b>t &amp; &#65;&#x42;</b><c/><![CDATA[<raw>]]></a>');
    expect(root.name).toBe("a");
    expect(root.attributes).toEqual({ x: "1", y: "<2>" });
    expect(root.children.map((child) => child.name)).toEqual(["b", "c"]);
    expect(root.children[0]!.text).toBe("t & AB");
    expect(root.text).toBe("<raw>");
    expect(() => parseXml("<a>\n<b></a>")).toThrow(/line 2/);
    expect(() => parseXml("<a>")).toThrow(/end/);
    expect(() => parseXml("<a></a><b/>")).toThrow(/after the root/);
    expect(() => parseXml("<a>&bogus;</a>")).toThrow(/entity/);
  });

  test("a DDF file becomes an object definition", () => {
    const [model, ...rest] = parseDdf(fs.readFileSync(path.join(MODELS, "10299-greenhouse.xml"), "utf8"));
    expect(rest).toEqual([]);
    expect(model).toMatchObject({ id: 10299, name: "Greenhouse Climate", version: "1.2", multiple: true, mandatory: false });
    expect(model!.resources.map((r) => [r.id, r.name, r.operations, r.multiple, r.mandatory, r.type])).toEqual([
      [0, "Bed Name", "RW", false, true, "string"],
      [1, "Air Temperature", "R", false, true, "float"],
      [2, "Target Temperature", "RW", false, false, "float"],
      [3, "Window Open", "RW", false, false, "boolean"],
      [4, "Calibrate", "E", false, false, "none"],
      [5, "Soil Moisture Readings", "R", true, false, "unsigned"],
      [6, "Sensor Serial", "RW", false, false, "opaque"],
    ]);
    expect(model!.resources[1]).toMatchObject({ range: [-40, 85], units: "Cel" });
    expect(() => parseDdf("<LWM2M><Object><Name>x</Name></Object></LWM2M>")).toThrow(/ObjectID/);
    expect(() => parseDdf("<LWM2M><Object><ObjectID>10300</ObjectID><Name>x</Name><Resources><Item ID='1'><Name>y</Name><Type>Color</Type></Item></Resources></Object></LWM2M>")).toThrow(/Color/);
    expect(() => parseDdf("<NotLwM2M/>")).toThrow(/LWM2M/);
  });

  test("a models directory: *.xml files; a missing directory or a bad file is an error naming it", () => {
    expect(loadModelDirectory(MODELS).map((model) => model.id)).toEqual([10299]);
    expect(() => loadModelDirectory(path.join(MODELS, "absent"))).toThrow(/absent/);
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), "models-"));
    try {
      fs.writeFileSync(path.join(bad, "broken.xml"), "<LWM2M><Object>");
      expect(() => loadModelDirectory(bad)).toThrow(/broken\.xml/);
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  describe("with --models", () => {
    let rig: Rig;
    let store: ObjectStore;
    beforeAll(async () => {
      rig = await startRig({ modelsDir: MODELS });
      store = createStandardStore();
      store.add(GREENHOUSE);
      const bed = store.get(10299)!.createInstance(0);
      bed.set(0, "north bed");
      bed.set(1, 21.5);
      bed.set(2, 20);
      bed.set(3, false);
      bed.set(5, new Map([[0, 40], [1, 42]]));
      bed.set(6, Uint8Array.of(0xca, 0xfe));
      bed.bind(4, { execute: () => undefined });
      await rig.client("green1", store);
    });
    afterAll(async () => rig.close());

    test("reads are decoded in every format", async () => {
      for (const accept of ["senml-cbor", "senml-json", "tlv"]) {
        const read = await rig.api("GET", `/clients/green1/read?path=/10299/0&accept=${accept}`);
        expect(read.json.values).toEqual([
          { path: "/10299/0/0", value: "north bed" },
          { path: "/10299/0/1", value: 21.5 },
          { path: "/10299/0/2", value: 20 },
          { path: "/10299/0/3", value: false },
          { path: "/10299/0/5/0", value: 40 },
          { path: "/10299/0/5/1", value: 42 },
          { path: "/10299/0/6", value: { hex: "cafe" } },
        ]);
      }
    });

    test("notifications are decoded", async () => {
      await rig.api("POST", "/clients/green1/observe", { path: "/10299/0/1" });
      const since = rig.events.length;
      store.get(10299)!.instance(0)!.set(1, 23.25);
      const note = await rig.event((e: ServerEvent) => e.type === "notification" && e.path === "/10299/0/1", since);
      expect(note.type === "notification" && note.result).toMatchObject({ text: "23.25", values: [{ path: "/10299/0/1", value: 23.25 }] });
    });

    test("writes by value, checked against the model", async () => {
      expect((await rig.api("POST", "/clients/green1/write", { path: "/10299/0/2", value: 18.5 })).json.code).toBe("2.04");
      expect(store.get(10299)!.instance(0)!.get(2)).toBe(18.5);
      expect((await rig.api("POST", "/clients/green1/write", { path: "/10299/0/3", value: "true", format: "senml-cbor" })).json.code).toBe("2.04");
      expect(store.get(10299)!.instance(0)!.get(3)).toBe(true);
      const outOfRange = await rig.api("POST", "/clients/green1/write", { path: "/10299/0/2", value: 99 });
      expect(outOfRange.status).toBe(400);
    });

    test("create with a JSON value map returns the Location-Path", async () => {
      const created = await rig.api("POST", "/clients/green1/create", { path: "/10299", values: { "0": "south bed", "2": 22, "6": { hex: "01" } } });
      expect(created.json).toMatchObject({ code: "2.01", success: true, location: "/10299/1" });
      expect(store.get(10299)!.instance(1)!.get(0)).toBe("south bed");
      const named = await rig.api("POST", "/clients/green1/create", { path: "/10299/7", values: { "0": "west bed" }, format: "senml-json" });
      expect(named.json).toMatchObject({ code: "2.01", location: "/10299/7" });
      expect(store.get(10299)!.instance(7)!.get(0)).toBe("west bed");
      expect((await rig.api("POST", "/clients/green1/create", { path: "/10299", values: { "9": 1 } })).status).toBe(400);
    });

    test("GET /models lists the loaded and standard models", async () => {
      const list = (await rig.api("GET", "/models")).json;
      expect(list).toContainEqual(expect.objectContaining({ id: 10299, name: "Greenhouse Climate", version: "1.2", multiple: true, mandatory: false, source: "loaded" }));
      expect(list).toContainEqual(expect.objectContaining({ id: 3, name: "Device", source: "standard" }));
      const one = (await rig.api("GET", "/models/10299")).json;
      expect(one.resources[2]).toMatchObject({ id: 2, name: "Target Temperature", type: "float", range: [5, 35] });
      expect((await rig.api("GET", "/models/4242")).status).toBe(404);
    });
  });
});

describe("defect 12: a client without object 19", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ autoObserve: ["/19/0/0"] });
  });
  afterAll(async () => rig.close());

  function storeWithout19(): ObjectStore {
    const store = new ObjectStore();
    for (const definition of STANDARD_OBJECTS) if (definition.id !== 19) store.add(definition);
    store.get(3)!.createInstance(0).set(0, "no-19 device");
    return store;
  }

  test("the user is told; commands answer 409 with the reason; waiting ones fail with it", async () => {
    const waiting = await rig.api("POST", "/clients/plain1/commands", { text: "queued before it registered" });
    expect(waiting.status).toBe(202);
    await rig.client("plain1", storeWithout19());
    const registered = rig.events.find((e) => e.type === "registered" && e.endpoint === "plain1");
    expect(registered).toMatchObject({ object19: false });
    expect(rig.warnings.join("\n")).toMatch(/plain1 .*no object 19.*\/19\/0\/0.*commands/);
    expect(rig.server.listObservations()).toEqual([]);
    const client = (await rig.api("GET", "/clients")).json.find((c: { endpoint: string }) => c.endpoint === "plain1");
    expect(client).toMatchObject({ object19: false });
    const refused = await rig.api("POST", "/clients/plain1/commands", { text: "on" });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatch(/object 19/);
    const failed = (await rig.api("GET", "/commands?endpoint=plain1")).json;
    expect(failed).toEqual([expect.objectContaining({ id: waiting.json.id, status: "failed", result: expect.stringMatching(/object 19/) })]);
  });

  test("a client with /19 is flagged so too", async () => {
    const store = createStandardStore();
    store.get(19)!.createInstance(0).set(0, new Map([[0, new Uint8Array(0)]]));
    await rig.client("full1", store);
    expect((await rig.api("GET", "/clients/full1")).json).toMatchObject({ object19: true });
    expect(rig.server.listObservations()).toEqual([{ endpoint: "full1", path: "/19/0/0" }]);
  });
});
