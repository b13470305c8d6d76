import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { getLocationPath } from "../../modules/coap/message.js";
import { MAX_ATTRIBUTE_PATHS } from "../../modules/lwm2m/attributes.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { decodeSenmlCbor, encodeSenmlCbor, encodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { AppDataResource, ConnectivityMonitoringResource, DeviceResource, ObjectId } from "../../modules/lwm2m/objects/index.js";
import { formatPath } from "../../modules/lwm2m/path.js";
import { assert, suite } from "./harness.js";
import { openTestClient, openTestServer, stopClient } from "./lwm2m-helpers.js";

const definitions = createStandardStore();
const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);

/** Regression tests for the device-management defects of issue 9 (15..20). */
export default suite("LwM2M DM defects (issue 9)", (test) => {
  test("defect 15: Send spanning objects reports each value at its own path", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      const monitoring = store.get(ObjectId.ConnectivityMonitoring)!;
      (monitoring.instance(0) ?? monitoring.createInstance(0)).set(ConnectivityMonitoringResource.RadioSignalStrength, -70);
      const paths = [
        { objectId: ObjectId.Device, instanceId: 0, resourceId: DeviceResource.BatteryLevel },
        { objectId: ObjectId.ConnectivityMonitoring, instanceId: 0, resourceId: ConnectivityMonitoringResource.RadioSignalStrength },
      ];
      const outcome = await new Promise<Error | undefined>((resolve) => client.send(paths, resolve));
      assert.equal(outcome, undefined);
      const received = decodeSenmlCbor(undefined, server.sent[0]!, lookup).map((e) => [formatPath(e.path), e.value]);
      assert.equal(received, [["/3/0/9", 87], ["/4/0/2", -70]]);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 16: Create with SenML honours the instance id the records name", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const entry = (instanceId: number) => ({ path: { objectId: ObjectId.BinaryAppDataContainer, instanceId, resourceId: 0, resourceInstanceId: 0 }, value: Uint8Array.of(1, 2), type: "opaque" as const });
    try {
      const created = await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.SenmlJson, payload: encodeSenmlJson(undefined, [entry(5)]) });
      assert.equal(created.code, ResponseCode.Created);
      assert.equal(getLocationPath(created), ["19", "5"]);
      assert.ok(store.get(ObjectId.BinaryAppDataContainer)!.instance(5) !== undefined, "instance 5 created");
      assert.equal(store.get(ObjectId.BinaryAppDataContainer)!.instance(0), undefined, "not the lowest free id");
      const again = await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.SenmlCbor, payload: encodeSenmlCbor(undefined, [entry(5)]) });
      assert.equal(again.code, ResponseCode.BadRequest, "the named instance exists");
      const two = await server.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.SenmlJson, payload: encodeSenmlJson(undefined, [entry(6), entry(7)]) });
      assert.equal(two.code, ResponseCode.BadRequest, "one instance at a time");
      assert.equal(store.get(ObjectId.BinaryAppDataContainer)!.instanceIds(), [5]);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 17: Write-Composite refuses a resource instance of a single resource; every record is validated before any write hook runs", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(ObjectId.Device)!.instance(0)!;
    try {
      const single = encodeSenmlCbor(undefined, [{ path: { objectId: ObjectId.Device, instanceId: 0, resourceId: DeviceResource.UtcOffset, resourceInstanceId: 0 }, value: "+02:00", type: "string" }]);
      assert.equal((await server.request({ method: Method.IPATCH, contentFormat: ContentFormat.SenmlCbor, payload: single })).code, ResponseCode.BadRequest);
      assert.equal(device.get(DeviceResource.UtcOffset), "+01:00", "still a single value");

      const hooked: string[] = [];
      device.bind(DeviceResource.UtcOffset, { write: (value) => void hooked.push(String(value)) });
      const refusing = { validate: () => ResponseCode.BadRequest, write: () => void hooked.push("timezone") };
      device.bind(DeviceResource.Timezone, refusing);
      const both = encodeSenmlCbor(undefined, [
        { path: { objectId: ObjectId.Device, instanceId: 0, resourceId: DeviceResource.UtcOffset }, value: "+03:00", type: "string" },
        { path: { objectId: ObjectId.Device, instanceId: 0, resourceId: DeviceResource.Timezone }, value: "Europe/Paris", type: "string" },
      ]);
      assert.equal((await server.request({ method: Method.IPATCH, contentFormat: ContentFormat.SenmlCbor, payload: both })).code, ResponseCode.BadRequest);
      assert.equal(hooked, [], "no write hook ran for a refused request");
      assert.equal(device.get(DeviceResource.UtcOffset), "+01:00");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 18: Delete refuses mandatory single-instance objects (Device) with 4.05; the application can protect its instances", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      assert.equal((await server.request({ method: Method.DELETE, path: "/3/0" })).code, ResponseCode.MethodNotAllowed);
      assert.ok(store.get(ObjectId.Device)!.instance(0) !== undefined, "Device instance kept");
      const container = store.get(ObjectId.BinaryAppDataContainer)!;
      container.createInstance(0);
      container.hooks = { deleting: () => ResponseCode.MethodNotAllowed };
      assert.equal((await server.request({ method: Method.DELETE, path: "/19/0" })).code, ResponseCode.MethodNotAllowed);
      assert.ok(container.instance(0) !== undefined, "protected instance kept");
      assert.equal((await server.request({ method: Method.DELETE, path: "/1/0" })).code, ResponseCode.Unauthorized);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 19: TLV written to a resource-instance path takes the id from the path (a mismatch is 4.00)", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const container = store.get(ObjectId.BinaryAppDataContainer)!.createInstance(0);
    container.set(AppDataResource.Data, new Map([[0, Uint8Array.of(1)], [1, Uint8Array.of(5)]]));
    const data = () => Array.from(container.get(AppDataResource.Data) as Map<number, Uint8Array>, ([id, bytes]) => [id, Array.from(bytes)]);
    try {
      const instanceTlv = (id: number, value: number) => Uint8Array.of(0x41, id, value); // resource instance, 1-byte id, 1-byte value
      assert.equal((await server.request({ method: Method.PUT, path: "/19/0/0/1", contentFormat: ContentFormat.LwM2mTlv, payload: instanceTlv(0, 4) })).code, ResponseCode.BadRequest);
      assert.equal(data(), [[0, [1]], [1, [5]]], "nothing written");
      assert.equal((await server.request({ method: Method.PUT, path: "/19/0/0/1", contentFormat: ContentFormat.LwM2mTlv, payload: instanceTlv(1, 4) })).code, ResponseCode.Changed);
      assert.equal(data(), [[0, [1]], [1, [4]]]);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 20: Write-Attributes refuses lt >= gt, absent paths (4.04) and more paths than the store holds", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/9", query: ["lt=50", "gt=40"] })).code, ResponseCode.BadRequest, "lt above gt");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/9", query: ["lt=40", "gt=40"] })).code, ResponseCode.BadRequest, "lt equal to gt");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/9", query: ["lt=30", "gt=40"] })).code, ResponseCode.Changed);
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/6/77", query: ["pmin=5"] })).code, ResponseCode.NotFound, "absent resource instance");
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0/15", query: ["pmin=5"] })).code, ResponseCode.NotFound, "absent resource");
      const container = store.get(ObjectId.BinaryAppDataContainer)!;
      for (let id = 0; id <= MAX_ATTRIBUTE_PATHS; id++) container.createInstance(id);
      const codes: number[] = [];
      for (let id = 0; id <= MAX_ATTRIBUTE_PATHS; id++) codes.push((await server.request({ method: Method.PUT, path: `/19/${id}`, query: ["pmin=1"] })).code);
      assert.ok(codes.slice(0, MAX_ATTRIBUTE_PATHS - 1).every((code) => code === ResponseCode.Changed), "below the bound");
      assert.equal(codes[MAX_ATTRIBUTE_PATHS], ResponseCode.BadRequest, "beyond the bound");
      assert.equal((await server.request({ method: Method.PUT, path: "/19/0", query: ["pmin=2"] })).code, ResponseCode.Changed, "a path already held can change");
      assert.equal((await server.request({ method: Method.PUT, path: "/19/0", query: ["pmin"] })).code, ResponseCode.Changed, "clearing frees a slot");
      assert.equal((await server.request({ method: Method.PUT, path: `/19/${MAX_ATTRIBUTE_PATHS}`, query: ["pmin=1"] })).code, ResponseCode.Changed);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });
});
