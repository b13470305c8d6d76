import { ContentFormat, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { getLocationPath, getUintOption, utf8Decode, utf8Encode } from "../../modules/coap/message.js";
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { formatPath } from "../../modules/lwm2m/path.js";
import { decodeCbor, encodeCbor } from "../../modules/lwm2m/content/cbor.js";
import { decodeTlv, encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import { parseLinks } from "../../modules/lwm2m/content/link-format.js";
import { DeviceErrors } from "../../modules/lwm2m/objects/device-errors.js";
import { FirmwareUpdateStateMachine } from "../../modules/lwm2m/objects/firmware-update-state.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { asText, FAST } from "./coap-helpers.js";
import { assert, sleep, suite, waitFor } from "./harness.js";
import { openTestClient, openTestServer, stopClient } from "./lwm2m-helpers.js";

const definitions = createStandardStore();
const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);

export default suite("LwM2M client (ETS 1.1)", (test) => {
  test("int-101 Initial Registration; int-103 Deregistration", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, events } = await openTestClient(platform, server);
    try {
      assert.equal(client.registrationState(), "registered");
      const registration = server.registrations[0]!;
      assert.ok(registration.query.indexOf("ep=xs-test-client") >= 0, "ep");
      assert.ok(registration.query.indexOf("lt=60") >= 0 && registration.query.indexOf("lwm2m=1.1") >= 0 && registration.query.indexOf("b=U") >= 0, registration.query.join("&"));
      const targets = registration.links.map((link) => link.target);
      assert.ok(targets.indexOf("/1/0") >= 0 && targets.indexOf("/3/0") >= 0, targets.join(","));
      assert.ok(!targets.some((target) => target.startsWith("/0")), "the Security object is not announced");
      assert.equal(registration.links[0]!.target, "/");
      assert.ok(registration.links.some((link) => link.target === "/3" && link.attributes.some(([name, value]) => name === "ver" && String(value) === "1.1")), "object versions announced");
      assert.equal(events[0]?.type, "registered");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
    assert.equal(server.deregistrations, ["1"]);
  });

  test("int-102 Registration Update before the lifetime ends; int-104 Registration Update Trigger", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server, { servers: [{ uri: `coap://127.0.0.1:${server.endpoint.localPort}`, lifetime: 2 }] });
    try {
      await waitFor(platform, () => server.updates.length >= 1, 3000, "a periodic update");
      const before = server.updates.length;
      const response = await server.request({ method: Method.POST, path: "/1/0/8" });
      assert.equal(response.code, ResponseCode.Changed);
      await waitFor(platform, () => server.updates.length > before, 1000, "the triggered update");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-107 Extending the lifetime: a written lifetime is sent in an Update", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    try {
      const response = await server.request({ method: Method.PUT, path: "/1/0/1", contentFormat: ContentFormat.TextPlain, payload: utf8Encode("120") });
      assert.equal(response.code, ResponseCode.Changed);
      await waitFor(platform, () => server.updates.some((u) => u.query.indexOf("lt=120") >= 0), 1000, "Update with lt=120");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("a halting registration error stops with a reason; a temporary one is retried", async ({ platform }) => {
    const server = await openTestServer(platform);
    server.registerCode = ResponseCode.Forbidden;
    const { client, events } = await openTestClient(platform, server);
    try {
      assert.equal(client.registrationState(), "halted");
      const error = events.find((e) => e.type === "error");
      assert.ok(error && error.type === "error" && error.reason === "not-allowed" && !error.temporary, JSON.stringify(error));
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-201 Querying basic information in Plain Text; int-224 Read on Resource", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    try {
      const manufacturer = await server.request({ method: Method.GET, path: "/3/0/0", accept: ContentFormat.TextPlain });
      assert.equal(manufacturer.code, ResponseCode.Content);
      assert.equal(utf8Decode(manufacturer.payload), "Moddable Example");
      assert.equal(getUintOption(manufacturer, OptionNumber.ContentFormat), ContentFormat.TextPlain);
      const battery = await server.request({ method: Method.GET, path: "/3/0/9" });
      assert.equal(utf8Decode(battery.payload), "87");
      const legacy = await server.request({ method: Method.GET, path: "/3/0/1", accept: ContentFormat.LegacyLwM2mText });
      assert.equal(utf8Decode(legacy.payload), "XS-1");
      const time = await server.request({ method: Method.GET, path: "/3/0/13" });
      assert.ok(Math.abs(Number(utf8Decode(time.payload)) - Date.now() / 1000) < 600, "current time from the read hook");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-203 Querying in TLV; int-222 Read on Object; int-223 Read on Object Instance; int-225 Read on Resource Instance", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    try {
      const instance = await server.request({ method: Method.GET, path: "/3/0", accept: ContentFormat.LwM2mTlv });
      assert.equal(instance.code, ResponseCode.Content);
      const entries = decodeTlv({ objectId: 3, instanceId: 0 }, instance.payload, lookup);
      assert.ok(entries.some((e) => e.path.resourceId === 0 && e.value === "Moddable Example"), "manufacturer in TLV");
      assert.ok(entries.some((e) => e.path.resourceId === 11 && e.path.resourceInstanceId === 0 && e.value === 0), "error code instance 0");
      assert.ok(!entries.some((e) => e.path.resourceId === 4), "executable resources are not read");
      const object = await server.request({ method: Method.GET, path: "/3", accept: ContentFormat.LwM2mTlv });
      assert.equal(decodeTlv({ objectId: 3 }, object.payload, lookup).length, entries.length);
      const resourceInstance = await server.request({ method: Method.GET, path: "/3/0/6/1" });
      assert.equal(utf8Decode(resourceInstance.payload), "5");
      const noAccept = await server.request({ method: Method.GET, path: "/3/0" });
      assert.equal(getUintOption(noAccept, OptionNumber.ContentFormat), ContentFormat.LwM2mTlv, "multi-resource reads without Accept take the most compact format, TLV");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-231 Querying in SenML JSON; int-232 Querying in SenML CBOR", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    try {
      const json = await server.request({ method: Method.GET, path: "/3/0", accept: ContentFormat.SenmlJson });
      const fromJson = decodeSenmlJson({ objectId: 3, instanceId: 0 }, json.payload, lookup);
      assert.ok(fromJson.some((e) => e.path.resourceId === 1 && e.value === "XS-1"), asText(json.payload));
      const cbor = await server.request({ method: Method.GET, path: "/3/0", accept: ContentFormat.SenmlCbor });
      const fromCbor = decodeSenmlCbor({ objectId: 3, instanceId: 0 }, cbor.payload, lookup);
      assert.equal(fromCbor.length, fromJson.length);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-205 Setting in Plain Text; int-215 Setting in TLV; int-233/234 Setting in SenML; int-226 partial update; int-227 replace; int-228 resource instance", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(3)!.instance(0)!;
    try {
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: ContentFormat.TextPlain, payload: utf8Encode("+02:00") })).code, ResponseCode.Changed);
      assert.equal(device.get(14), "+02:00");
      const tlv = encodeTlv({ objectId: 3, instanceId: 0 }, [{ path: { objectId: 3, instanceId: 0, resourceId: 15 }, value: "Europe/Berlin", type: "string" }], new Set());
      assert.equal((await server.request({ method: Method.POST, path: "/3/0", contentFormat: ContentFormat.LwM2mTlv, payload: tlv })).code, ResponseCode.Changed);
      assert.equal(device.get(15), "Europe/Berlin");
      assert.equal(device.get(14), "+02:00", "a partial update leaves other resources");
      const senml = encodeSenmlJson({ objectId: 3, instanceId: 0, resourceId: 14 }, [{ path: { objectId: 3, instanceId: 0, resourceId: 14 }, value: "-05:00", type: "string" }]);
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: ContentFormat.SenmlJson, payload: senml })).code, ResponseCode.Changed);
      assert.equal(device.get(14), "-05:00");
      const cbor = encodeSenmlCbor({ objectId: 1, instanceId: 0 }, [{ path: { objectId: 1, instanceId: 0, resourceId: 2 }, value: 5, type: "integer" }]);
      assert.equal((await server.request({ method: Method.POST, path: "/1/0", contentFormat: ContentFormat.SenmlCbor, payload: cbor })).code, ResponseCode.Changed);
      assert.equal(store.get(1)!.instance(0)!.get(2), 5);
      // Resource instance write on a writable multiple resource (/19 Data).
      store.get(19)!.createInstance(1).set(0, new Map([[0, Uint8Array.of(1)]]));
      assert.equal((await server.request({ method: Method.PUT, path: "/19/1/0/1", contentFormat: ContentFormat.OctetStream, payload: Uint8Array.of(9, 9) })).code, ResponseCode.Changed);
      const data = store.get(19)!.instance(1)!.get(0) as Map<number, Uint8Array>;
      assert.equal(data.size, 2, "resource-instance write keeps the other instances");
      assert.equal(data.get(1), Uint8Array.of(9, 9));
      const replace = encodeTlv({ objectId: 19, instanceId: 1, resourceId: 0 }, [{ path: { objectId: 19, instanceId: 1, resourceId: 0, resourceInstanceId: 5 }, value: Uint8Array.of(5), type: "opaque" }], new Set([0]));
      assert.equal((await server.request({ method: Method.PUT, path: "/19/1/0", contentFormat: ContentFormat.LwM2mTlv, payload: replace })).code, ResponseCode.Changed);
      assert.equal(Array.from((store.get(19)!.instance(1)!.get(0) as Map<number, Uint8Array>).keys()), [5], "replace drops old instances");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-221 the Security object is invisible; int-256 Write Operation Failure; malformed and wrong-type writes", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      assert.equal((await server.request({ method: Method.GET, path: "/0" })).code, ResponseCode.Unauthorized);
      assert.equal((await server.request({ method: Method.GET, path: "/0/0/0" })).code, ResponseCode.Unauthorized);
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/0", contentFormat: ContentFormat.TextPlain, payload: utf8Encode("x") })).code, ResponseCode.MethodNotAllowed, "read-only resource");
      assert.equal((await server.request({ method: Method.PUT, path: "/1/0/1", contentFormat: ContentFormat.TextPlain, payload: utf8Encode("soon") })).code, ResponseCode.BadRequest, "not an integer");
      assert.equal((await server.request({ method: Method.PUT, path: "/1/0/1", contentFormat: ContentFormat.TextPlain, payload: utf8Encode("-5") })).code, ResponseCode.BadRequest, "out of range");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: ContentFormat.LwM2mTlv, payload: Uint8Array.of(0xc8, 14, 40) })).code, ResponseCode.BadRequest, "truncated TLV");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: ContentFormat.SenmlJson, payload: utf8Encode("[{") })).code, ResponseCode.BadRequest, "broken SenML JSON");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: ContentFormat.SenmlCbor, payload: Uint8Array.of(0x9f) })).code, ResponseCode.BadRequest, "indefinite CBOR");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: 9999, payload: utf8Encode("x") })).code, ResponseCode.UnsupportedContentFormat);
      assert.equal((await server.request({ method: Method.GET, path: "/42" })).code, ResponseCode.NotFound);
      assert.equal((await server.request({ method: Method.GET, path: "/3/7" })).code, ResponseCode.NotFound);
      assert.equal((await server.request({ method: Method.GET, path: "/3/0/2000" })).code, ResponseCode.NotFound);
      assert.equal((await server.request({ method: Method.GET, path: "/3/0/4" })).code, ResponseCode.MethodNotAllowed, "reading an executable");
      assert.equal((await server.request({ method: Method.GET, path: "/3/0/0", accept: ContentFormat.OctetStream })).code, ResponseCode.NotAcceptable);
      assert.equal((await server.request({ method: Method.GET, path: "/3/x" })).code, ResponseCode.NotFound);
      assert.equal(store.get(3)!.instance(0)!.get(14), "+01:00", "failed writes changed nothing");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-241 Executable Resource: reboot runs after the response; Execute arguments; Execute on a non-executable", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, rebooted } = await openTestClient(platform, server);
    try {
      const answered = server.request({ method: Method.POST, path: "/3/0/4" });
      assert.equal(rebooted.length, 0, "nothing runs before the answer");
      assert.equal((await answered).code, ResponseCode.Changed);
      assert.equal((await server.request({ method: Method.POST, path: "/3/0/4", payload: utf8Encode("0='now',1") })).code, ResponseCode.Changed);
      await waitFor(platform, () => rebooted.length === 2, 500, "the deferred executions");
      assert.equal(rebooted, ["", "0='now',1"]);
      assert.equal((await server.request({ method: Method.POST, path: "/3/0/4", payload: utf8Encode("bad args") })).code, ResponseCode.BadRequest);
      assert.equal((await server.request({ method: Method.POST, path: "/3/0/0" })).code, ResponseCode.MethodNotAllowed);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-260 Discover; int-261 Write-Attribute on a multiple resource", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    try {
      const attributes = await server.request({ method: Method.PUT, path: "/3/0/6", query: ["pmin=10", "pmax=60", "gt=3"] });
      assert.equal(attributes.code, ResponseCode.Changed);
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0", query: ["pmin=5"] })).code, ResponseCode.Changed);
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/0", query: ["gt=1"] })).code, ResponseCode.BadRequest, "gt on a string resource");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/9", query: ["pmin=20", "pmax=10"] })).code, ResponseCode.BadRequest, "pmax below pmin");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/9", query: ["foo=1"] })).code, ResponseCode.BadRequest);
      const discovered = await server.request({ method: Method.GET, path: "/3/0", accept: ContentFormat.LinkFormat });
      assert.equal(getUintOption(discovered, OptionNumber.ContentFormat), ContentFormat.LinkFormat);
      const links = parseLinks(discovered.payload);
      const instanceLink = links.find((link) => link.target === "/3/0");
      assert.ok(instanceLink && instanceLink.attributes.some(([n, v]) => n === "pmin" && v === 5), utf8Decode(discovered.payload));
      const powerSources = links.find((link) => link.target === "/3/0/6");
      assert.ok(powerSources && powerSources.attributes.some(([n, v]) => n === "dim" && v === 2) && powerSources.attributes.some(([n, v]) => n === "gt" && v === 3), utf8Decode(discovered.payload));
      const object = parseLinks((await server.request({ method: Method.GET, path: "/3", accept: ContentFormat.LinkFormat })).payload);
      assert.ok(object[0]!.target === "/3" && object[0]!.attributes.some(([n, v]) => n === "ver" && v === 1.1), "object version in discover");
      assert.equal((await server.request({ method: Method.GET, path: "/0", accept: ContentFormat.LinkFormat })).code, ResponseCode.Unauthorized);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("Discover lists the executable resources an instance serves (Reboot /3/0/4), as the TS's Discover example does", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    try {
      const targets = parseLinks((await server.request({ method: Method.GET, path: "/3/0", accept: ContentFormat.LinkFormat })).payload).map((link) => link.target);
      assert.ok(targets.indexOf("/3/0/4") >= 0, `Reboot is listed: ${targets.join(",")}`);
      assert.ok(targets.indexOf("/3/0/5") < 0, "Factory Reset has no hook here: not listed");
      assert.equal((await server.request({ method: Method.GET, path: "/3/0/4", accept: ContentFormat.LinkFormat })).code, ResponseCode.Content);
      assert.equal((await server.request({ method: Method.GET, path: "/3/0/4" })).code, ResponseCode.MethodNotAllowed, "an executable resource is not read");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-270 Create Object Instance; int-290 Delete Object Instance; the Update announces the change", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      const payload = encodeTlv({ objectId: 19, instanceId: 3 }, [{ path: { objectId: 19, instanceId: 3, resourceId: 0, resourceInstanceId: 0 }, value: Uint8Array.of(1, 2), type: "opaque" }], new Set([0]));
      const wrapped = Uint8Array.from([0x08, 3, payload.length, ...payload]); // object-instance TLV with id 3
      const created = await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: wrapped });
      assert.equal(created.code, ResponseCode.Created);
      assert.equal(getLocationPath(created), ["19", "3"]);
      assert.ok(store.get(19)!.instance(3) !== undefined, "instance created");
      await waitFor(platform, () => server.updates.some((u) => u.payload.indexOf("</19/3>") >= 0), 1000, "Update with the new instance");
      assert.equal((await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: wrapped })).code, ResponseCode.BadRequest, "existing instance");
      assert.equal((await server.request({ method: Method.POST, path: "/3", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) })).code, ResponseCode.BadRequest, "single-instance object");
      assert.equal((await server.request({ method: Method.DELETE, path: "/19/3" })).code, ResponseCode.Deleted);
      assert.equal(store.get(19)!.instance(3), undefined);
      assert.equal((await server.request({ method: Method.DELETE, path: "/19/3" })).code, ResponseCode.NotFound);
      assert.equal((await server.request({ method: Method.DELETE, path: "/1/0" })).code, ResponseCode.Unauthorized);
      assert.equal((await server.request({ method: Method.DELETE, path: "/3/0/1" })).code, ResponseCode.MethodNotAllowed);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-301 Observation and Notification with pmin/pmax; int-302 Cancel by Reset; int-303 Cancel with Observe=1", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(3)!.instance(0)!;
    try {
      await server.request({ method: Method.PUT, path: "/3/0/9", query: ["pmin=0", "pmax=1"] });
      const values: string[] = [];
      const handle = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, (error, response) => {
        if (!error) values.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => values.length === 1, 1000, "the registration response");
      device.set(9, 86);
      await waitFor(platform, () => values.length === 2, 1000, "a change notification");
      assert.equal(values[1], "86");
      await waitFor(platform, () => values.length === 3, 2000, "a pmax notification without change");
      assert.equal(values[2], "86");
      handle.cancel();
      await waitFor(platform, () => client.observersOf({ objectId: 3, instanceId: 0, resourceId: 9 }).length === 0, 1000, "cancel with Observe=1");

      // Cancel by RST: the server forgets the token; the next notification is rejected.
      const second = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, () => undefined);
      await waitFor(platform, () => client.observersOf({ objectId: 3, instanceId: 0, resourceId: 9 }).length === 1, 1000, "second observation");
      second.cancel(false);
      device.set(9, 50);
      await waitFor(platform, () => client.observersOf({ objectId: 3, instanceId: 0, resourceId: 9 }).length === 0, 1000, "cancel by RST");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("notification attributes: pmin delays, gt/lt/st filter", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(3)!.instance(0)!;
    try {
      await server.request({ method: Method.PUT, path: "/3/0/9", query: ["st=10"] });
      const values: string[] = [];
      const handle = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, (error, response) => {
        if (!error) values.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => values.length === 1, 1000, "registration");
      device.set(9, 80); // step 7: below st
      await sleep(platform, 100);
      assert.equal(values.length, 1, "a step below st is not notified");
      device.set(9, 70); // step 17 from 87
      await waitFor(platform, () => values.length === 2, 1000, "a step of st");
      assert.equal(values[1], "70");
      await server.request({ method: Method.PUT, path: "/3/0/9", query: ["st", "gt=75", "pmin=1"] });
      device.set(9, 72);
      await sleep(platform, 100);
      assert.equal(values.length, 2, "no gt crossing");
      device.set(9, 90); // crosses 75, but pmin=1 s holds it back
      await sleep(platform, 300);
      assert.equal(values.length, 2, "held back by pmin");
      await waitFor(platform, () => values.length === 3, 2000, "after pmin");
      assert.equal(values[2], "90");
      handle.cancel();
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-102/105 under 30 % loss, 10 % duplication and reordering: registration completes and recovers after a server restart", async ({ platform }) => {
    let server = await openTestServer(platform);
    const port = server.endpoint.localPort;
    const lossy = new FaultyNet(platform.net, platform.time, { loss: 0.3, duplicate: 0.1, reorder: 0.1, reorderHoldMs: 20, seed: 5 });
    const { client, events } = await openTestClient(platform, server, {
      transport: new UdpTransport(lossy),
      servers: [{ uri: `coap://127.0.0.1:${port}`, lifetime: 2 }],
      coap: { ...FAST, ackTimeoutMs: 60, maxRetransmit: 5 },
    });
    try {
      await waitFor(platform, () => client.registrationState() === "registered", 15000, "registration through the lossy network");
      assert.equal(server.registrations.length >= 1, true);
      server.close();
      await sleep(platform, 50);
      server = await openTestServer(platform, port);
      // The restarted server knows nothing: the next Update gets 4.04 and the client registers again.
      await waitFor(platform, () => server.registrations.length >= 1, 15000, "re-registration after the restart");
      await waitFor(platform, () => client.registrationState() === "registered", 5000, "registered again");
      // The server observes again; through this much loss a request may time out, so it retries like a real server.
      const values: string[] = [];
      const failures: string[] = [];
      for (let attempt = 0; attempt < 5 && values.length === 0; attempt++) {
        const handle = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, (error, response) => {
          if (error) failures.push(error.kind);
          else values.push(utf8Decode(response!.payload));
        });
        await waitFor(platform, () => values.length + failures.length > attempt, 5000, "an answer to the observe request");
        handle.cancel();
      }
      assert.ok(values.length >= 1, `observation re-established (failed attempts: ${failures.join(",")})`);
      assert.ok(lossy.stats.dropped > 0 && lossy.stats.duplicated > 0, `faults: ${JSON.stringify(lossy.stats)}`);
      assert.ok(events.filter((e) => e.type === "registered").length >= 2, "registered twice");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-306/311 Send: values go to /dp in SenML CBOR; Mute Send refuses", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      const outcome = await new Promise<Error | undefined>((resolve) => client.send([{ objectId: 3, instanceId: 0, resourceId: 9 }, { objectId: 3, instanceId: 0, resourceId: 1 }], resolve));
      assert.equal(outcome, undefined);
      const entries = decodeSenmlCbor({ objectId: 3 }, server.sent[0]!, lookup);
      assert.equal(entries.map((e) => [e.path.resourceId, e.value]), [[9, 87], [1, "XS-1"]]);
      store.get(1)!.instance(0)!.set(23, true);
      const muted = await new Promise<Error | undefined>((resolve) => client.send([{ objectId: 3, instanceId: 0, resourceId: 9 }], resolve));
      assert.ok(muted && muted.message.indexOf("muted") >= 0, String(muted));
      assert.equal(server.sent.length, 1);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-108 Turn on Queue Mode; int-109 Behavior in Queue Mode: asleep the client does not answer, a change wakes it with an Update, then the held notification goes out", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server, {
      servers: [{ uri: `coap://127.0.0.1:${server.endpoint.localPort}`, lifetime: 60, binding: "UQ" }],
      queueIdleMs: 200,
    });
    try {
      assert.ok(server.registrations[0]!.query.indexOf("b=UQ") >= 0, "binding UQ announced");
      const values: string[] = [];
      server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, (error, response) => {
        if (!error) values.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => values.length === 1, 1000, "observation while awake");
      await sleep(platform, 300);
      const asleep = await server.endpoint.requestAsync({ peer: server.clientPeer!, method: Method.GET, path: "/3/0/1" }).then(
        () => "answered",
        (error: { kind?: string }) => error.kind ?? "error",
      );
      assert.equal(asleep, "timeout", "no answer while asleep");
      const updatesBefore = server.updates.length;
      store.get(3)!.instance(0)!.set(9, 50);
      await waitFor(platform, () => server.updates.length > updatesBefore, 1000, "the wake-up Update");
      await waitFor(platform, () => values.length === 2, 1000, "the held notification after the Update");
      assert.equal(values[1], "50");
      const awake = await server.endpoint.requestAsync({ peer: server.clientPeer!, method: Method.GET, path: "/3/0/1" });
      assert.equal(utf8Decode(awake.payload), "XS-1", "listening again after the Update");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("Firmware Update state machine: download, update, failures, reset; Device error codes and Reset Error Code", async ({ platform }) => {
    const server = await openTestServer(platform);
    const store = createStandardStore();
    const firmware = store.get(5)!.createInstance(0);
    let finishDownload: (result: number) => void = () => undefined;
    let finishUpdate: (result: number) => void = () => undefined;
    const machine = new FirmwareUpdateStateMachine(firmware, {
      startDownload: (_uri, done) => void (finishDownload = done),
      update: (done) => void (finishUpdate = done),
      protocols: [0, 1],
    });
    const { client } = await openTestClient(platform, server, { store });
    const errors = new DeviceErrors(store.get(3)!.instance(0)!);
    const text = async (path: string) => utf8Decode((await server.request({ method: Method.GET, path })).payload);
    const write = (path: string, value: string) => server.request({ method: Method.PUT, path, contentFormat: ContentFormat.TextPlain, payload: utf8Encode(value) });
    try {
      assert.equal((await server.request({ method: Method.POST, path: "/5/0/2" })).code, ResponseCode.MethodNotAllowed, "Update in Idle");
      assert.equal((await write("/5/0/1", "not a uri")).code, ResponseCode.BadRequest);
      assert.equal(await text("/5/0/5"), "7", "invalid URI");
      assert.equal((await write("/5/0/1", "ftp://x/fw.bin")).code, ResponseCode.BadRequest);
      assert.equal(await text("/5/0/5"), "9", "a scheme no client supports");
      assert.equal((await write("/5/0/1", "https://x/fw.bin")).code, ResponseCode.BadRequest);
      assert.equal(await text("/5/0/5"), "9", "unsupported protocol");
      assert.equal((await write("/5/0/1", "coap://127.0.0.1/fw.bin")).code, ResponseCode.Changed);
      assert.equal(await text("/5/0/3"), "1", "Downloading");
      assert.equal((await write("/5/0/1", "coap://127.0.0.1/other")).code, ResponseCode.MethodNotAllowed, "no second download");
      finishDownload(1);
      assert.equal(await text("/5/0/3"), "2", "Downloaded");
      assert.equal((await server.request({ method: Method.POST, path: "/5/0/2" })).code, ResponseCode.Changed);
      assert.equal(machine.state, 3, "Updating");
      finishUpdate(1);
      assert.equal(await text("/5/0/3"), "0");
      assert.equal(await text("/5/0/5"), "1", "Success");
      assert.equal((await write("/5/0/1", "coap://127.0.0.1/fw2.bin")).code, ResponseCode.Changed);
      finishDownload(5);
      assert.equal(machine.state, 0);
      assert.equal(machine.result, 5, "integrity check failure reported");
      assert.equal((await write("/5/0/1", "")).code, ResponseCode.Changed);
      assert.equal(machine.result, 0, "an empty URI resets");

      errors.add(5);
      errors.add(7);
      errors.add(5);
      const listed = decodeTlv({ objectId: 3, instanceId: 0, resourceId: 11 }, (await server.request({ method: Method.GET, path: "/3/0/11", accept: ContentFormat.LwM2mTlv })).payload, lookup);
      assert.equal(listed.map((e) => e.value), [5, 7]);
      assert.equal((await server.request({ method: Method.POST, path: "/3/0/12" })).code, ResponseCode.Changed);
      assert.equal(errors.list(), []);
      assert.equal(await text("/3/0/11/0"), "0");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("several servers at once, each with its own registration; Access Control enforced between them", async ({ platform }) => {
    const first = await openTestServer(platform);
    const second = await openTestServer(platform);
    const store = createStandardStore();
    const { client } = await openTestClient(platform, first, {
      store,
      servers: [
        { uri: `coap://127.0.0.1:${first.endpoint.localPort}`, shortServerId: 1, lifetime: 60 },
        { uri: `coap://127.0.0.1:${second.endpoint.localPort}`, shortServerId: 2, lifetime: 120 },
      ],
    });
    await waitFor(platform, () => second.registrations.length === 1 && client.registrationState(2) === "registered", 2000, "both registrations");
    const acl = store.get(2)!.createInstance();
    acl.set(0, 3);
    acl.set(1, 0);
    acl.set(2, new Map([[2, 1]])); // server 2 may read
    acl.set(3, 1); // server 1 owns /3/0
    const put = (server: typeof first, path: string, value: string) => server.request({ method: Method.PUT, path, contentFormat: ContentFormat.TextPlain, payload: utf8Encode(value) });
    try {
      assert.ok(first.registrations[0]!.query.indexOf("lt=60") >= 0 && second.registrations[0]!.query.indexOf("lt=120") >= 0, "own lifetimes");
      assert.equal((await first.request({ method: Method.GET, path: "/3/0/0" })).code, ResponseCode.Content);
      assert.equal((await put(first, "/3/0/14", "+04:00")).code, ResponseCode.Changed, "the owner writes");
      assert.equal((await second.request({ method: Method.GET, path: "/3/0/0" })).code, ResponseCode.Content, "server 2 reads");
      assert.equal((await put(second, "/3/0/14", "+05:00")).code, ResponseCode.Unauthorized, "server 2 may not write");
      assert.equal((await second.request({ method: Method.POST, path: "/3/0/4" })).code, ResponseCode.Unauthorized, "nor execute");
      assert.equal((await second.request({ method: Method.GET, path: "/1/1" })).code, ResponseCode.Content, "its own Server instance");
      assert.equal((await second.request({ method: Method.GET, path: "/1/0" })).code, ResponseCode.Unauthorized, "not the other server's");
      assert.equal((await second.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) })).code, ResponseCode.Unauthorized, "no Create right");
      const grant = store.get(2)!.createInstance();
      grant.set(0, 19);
      grant.set(1, 65535);
      grant.set(2, new Map([[2, 16]]));
      grant.set(3, 1);
      const created = await second.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) });
      assert.equal(created.code, ResponseCode.Created);
      const owned = store.get(2)!.instanceIds().map((id) => store.get(2)!.instance(id)!).find((i) => i.get(0) === 19 && i.get(1) === Number(getLocationPath(created)[1]));
      assert.equal(owned?.get(3), 2, "the creator owns the new instance");
      const before = second.updates.length;
      await first.request({ method: Method.POST, path: "/1/0/8" });
      await waitFor(platform, () => first.updates.length >= 1, 1000, "server 1 update");
      assert.ok(second.updates.length >= before, "registrations are independent");
    } finally {
      await stopClient(platform, client);
      first.close();
      second.close();
    }
    assert.equal(first.deregistrations.length + second.deregistrations.length, 2, "both deregistered");
  });

  test("int-229/280 Read-Composite; int-236/281 partial presence; int-230/257 Write-Composite; int-304/305/310 Observe-Composite", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(3)!.instance(0)!;
    const request = (paths: string[]) => utf8Encode(JSON.stringify(paths.map((n) => ({ n }))));
    try {
      const composite = await server.request({ method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.SenmlJson, payload: request(["/3/0/0", "/1/0/1", "/3/0/11"]) });
      assert.equal(composite.code, ResponseCode.Content);
      const values = decodeSenmlJson(undefined, composite.payload, lookup).map((e) => [formatPath(e.path), e.value]);
      assert.equal(values, [["/3/0/0", "Moddable Example"], ["/1/0/1", 60], ["/3/0/11/0", 0]]);
      const partial = await server.request({ method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, payload: request(["/3/0/9", "/42/0/0", "/0/0/0"]) });
      assert.equal(partial.code, ResponseCode.Content, "absent and forbidden paths are left out");
      assert.equal(decodeSenmlJson(undefined, partial.payload, lookup).map((e) => formatPath(e.path)), ["/3/0/9"]);
      assert.equal((await server.request({ method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, payload: request(["/42/0/0"]) })).code, ResponseCode.NotFound);
      assert.equal((await server.request({ method: Method.FETCH, contentFormat: ContentFormat.TextPlain, payload: utf8Encode("/3/0/0") })).code, ResponseCode.UnsupportedContentFormat);

      const writes = encodeSenmlCbor(undefined, [
        { path: { objectId: 3, instanceId: 0, resourceId: 14 }, value: "+09:00", type: "string" },
        { path: { objectId: 1, instanceId: 0, resourceId: 3 }, value: 300, type: "integer" },
      ]);
      assert.equal((await server.request({ method: Method.IPATCH, contentFormat: ContentFormat.SenmlCbor, payload: writes })).code, ResponseCode.Changed);
      assert.equal(device.get(14), "+09:00");
      assert.equal(store.get(1)!.instance(0)!.get(3), 300);
      const bad = encodeSenmlCbor(undefined, [
        { path: { objectId: 3, instanceId: 0, resourceId: 14 }, value: "+10:00", type: "string" },
        { path: { objectId: 3, instanceId: 0, resourceId: 0 }, value: "x", type: "string" },
      ]);
      assert.equal((await server.request({ method: Method.IPATCH, contentFormat: ContentFormat.SenmlCbor, payload: bad })).code, ResponseCode.MethodNotAllowed);
      assert.equal(device.get(14), "+09:00", "Write-Composite is all or nothing");

      const notes: string[][] = [];
      const handle = server.endpoint.observe(
        { peer: server.clientPeer!, method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.SenmlJson, payload: request(["/3/0/9", "/3/0/14"]) },
        (error, response) => {
          if (!error) notes.push(decodeSenmlJson(undefined, response!.payload, lookup).map((e) => `${formatPath(e.path)}=${String(e.value)}`));
        },
      );
      await waitFor(platform, () => notes.length === 1, 1000, "Observe-Composite registration");
      device.set(14, "+11:00");
      await waitFor(platform, () => notes.length === 2, 1000, "a composite notification");
      assert.equal(notes[1], ["/3/0/9=87", "/3/0/14=+11:00"]);
      handle.cancel();
      await waitFor(platform, () => client.observersOf({ objectId: 3, instanceId: 0, resourceId: 14 }).length === 0, 1000, "Cancel Observation-Composite");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-202 Querying in Opaque; int-210 Setting in Opaque", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const uplink = store.get(19)!.createInstance(0);
    uplink.set(0, new Map([[0, Uint8Array.of(0xde, 0xad)]]));
    try {
      const read = await server.request({ method: Method.GET, path: "/19/0/0/0" });
      assert.equal(getUintOption(read, OptionNumber.ContentFormat), ContentFormat.OctetStream);
      assert.equal(read.payload, Uint8Array.of(0xde, 0xad));
      assert.equal((await server.request({ method: Method.PUT, path: "/19/0/0/1", contentFormat: ContentFormat.OctetStream, payload: Uint8Array.of(1, 2, 3) })).code, ResponseCode.Changed);
      assert.equal((uplink.get(0) as Map<number, Uint8Array>).get(1), Uint8Array.of(1, 2, 3));
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/14", contentFormat: ContentFormat.OctetStream, payload: Uint8Array.of(1) })).code, ResponseCode.BadRequest, "opaque to a string resource");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-211 Querying basic information in CBOR; int-212 Setting basic information in CBOR", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      const manufacturer = await server.request({ method: Method.GET, path: "/3/0/0", accept: ContentFormat.Cbor });
      assert.equal(getUintOption(manufacturer, OptionNumber.ContentFormat), ContentFormat.Cbor);
      assert.equal(decodeCbor(manufacturer.payload), "Moddable Example");
      assert.equal(decodeCbor((await server.request({ method: Method.GET, path: "/3/0/9", accept: ContentFormat.Cbor })).payload), 87);
      assert.equal((await server.request({ method: Method.PUT, path: "/1/0/1", contentFormat: ContentFormat.Cbor, payload: encodeCbor(300) })).code, ResponseCode.Changed);
      assert.equal(store.get(1)!.instance(0)!.get(1), 300);
      assert.equal((await server.request({ method: Method.PUT, path: "/1/0/1", contentFormat: ContentFormat.Cbor, payload: encodeCbor("300") })).code, ResponseCode.BadRequest, "text for an integer");
      assert.equal((await server.request({ method: Method.GET, path: "/3/0", accept: ContentFormat.Cbor })).code, ResponseCode.NotAcceptable, "CBOR carries one value");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-308 Observe-Composite and Creating Object Instance; int-309 Observe-Composite and Deleting Object Instance", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    const paths = utf8Encode(JSON.stringify([{ n: "/19" }, { n: "/3/0/9" }]));
    const notes: string[][] = [];
    try {
      const handle = server.endpoint.observe({ peer: server.clientPeer!, method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.SenmlJson, payload: paths }, (error, response) => {
        if (!error) notes.push(decodeSenmlJson(undefined, response!.payload, lookup).map((e) => formatPath(e.path)));
      });
      await waitFor(platform, () => notes.length === 1, 1000, "registration");
      assert.equal(notes[0], ["/3/0/9"]);
      const tlv = encodeTlv({ objectId: 19, instanceId: 5 }, [{ path: { objectId: 19, instanceId: 5, resourceId: 0, resourceInstanceId: 0 }, value: Uint8Array.of(7), type: "opaque" }], new Set([0]));
      const created = await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: Uint8Array.from([0x08, 5, tlv.length, ...tlv]) });
      assert.equal(created.code, ResponseCode.Created);
      await waitFor(platform, () => notes.some((n) => n.indexOf("/19/5/0/0") >= 0), 1000, "a notification with the new instance");
      assert.equal((await server.request({ method: Method.DELETE, path: "/19/5" })).code, ResponseCode.Deleted);
      await waitFor(platform, () => notes[notes.length - 1]!.indexOf("/19/5/0/0") < 0, 1000, "a notification without the deleted instance");
      assert.equal(notes[notes.length - 1], ["/3/0/9"]);
      handle.cancel();
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("epmax evaluates values only a read hook knows; epmin spaces evaluations", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(3)!.instance(0)!;
    let memoryFree = 100;
    device.bind(10, { read: () => memoryFree });
    try {
      await server.request({ method: Method.PUT, path: "/3/0/10", query: ["epmax=1"] });
      const values: string[] = [];
      const handle = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/10" }, (error, response) => {
        if (!error) values.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => values.length === 1, 1000, "registration");
      memoryFree = 90; // nobody calls set(): only the epmax evaluation can see it
      await waitFor(platform, () => values.length === 2, 2500, "the epmax evaluation");
      assert.equal(values[1], "90");
      handle.cancel();

      await server.request({ method: Method.PUT, path: "/3/0/9", query: ["epmin=1"] });
      const battery: string[] = [];
      const second = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, (error, response) => {
        if (!error) battery.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => battery.length === 1, 1000, "registration");
      device.set(9, 10);
      await sleep(platform, 300);
      assert.equal(battery.length, 1, "held back by epmin");
      await waitFor(platform, () => battery.length === 2, 2000, "after epmin");
      assert.equal(battery[1], "10");
      second.cancel();
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("int-271 Create Multiple Resource Instance", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      const entries = [0, 1, 2].map((riid) => ({ path: { objectId: 19, instanceId: 7, resourceId: 0, resourceInstanceId: riid }, value: Uint8Array.of(riid), type: "opaque" as const }));
      const body = encodeTlv({ objectId: 19, instanceId: 7 }, entries, new Set([0]));
      const created = await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: Uint8Array.from([0x08, 7, body.length, ...body]) });
      assert.equal(created.code, ResponseCode.Created);
      const data = store.get(19)!.instance(7)!.get(0) as Map<number, Uint8Array>;
      assert.equal(Array.from(data.keys()), [0, 1, 2]);
      assert.equal((await server.request({ method: Method.PUT, path: "/19/7/0/3", contentFormat: ContentFormat.OctetStream, payload: Uint8Array.of(3) })).code, ResponseCode.Changed);
      const read = decodeTlv({ objectId: 19, instanceId: 7, resourceId: 0 }, (await server.request({ method: Method.GET, path: "/19/7/0", accept: ContentFormat.LwM2mTlv })).payload, lookup);
      assert.equal(read.map((e) => e.path.resourceInstanceId), [0, 1, 2, 3]);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });
});
