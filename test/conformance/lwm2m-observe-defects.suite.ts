import { decodeBlock, encodeBlock } from "../../modules/coap/block.js";
import { ContentFormat, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { getOption, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { decodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { DeviceResource, ObjectId } from "../../modules/lwm2m/objects/index.js";
import { formatPath } from "../../modules/lwm2m/path.js";
import { assert, suite, waitFor } from "./harness.js";
import { openTestClient, openTestServer, stopClient } from "./lwm2m-helpers.js";

const definitions = createStandardStore();
const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);
const compositeRequest = (paths: string[]) => utf8Encode(JSON.stringify(paths.map((n) => ({ n }))));
const valuesOf = (message: CoapMessage) => decodeSenmlJson(undefined, message.payload, lookup).map((e) => `${formatPath(e.path)}=${String(e.value)}`);
const batteryLevel = { objectId: ObjectId.Device, instanceId: 0, resourceId: DeviceResource.BatteryLevel };
const utcOffset = { objectId: ObjectId.Device, instanceId: 0, resourceId: DeviceResource.UtcOffset };

/** Regression tests for the observation defects of issue 9 (13, 14). */
export default suite("LwM2M observe defects (issue 9)", (test) => {
  test("defect 13: Write-Attributes re-arms a running observation at once (a new pmax applies without a value change)", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    const notes: CoapMessage[] = [];
    try {
      assert.equal((await server.request({ method: Method.PUT, path: "/3", query: ["pmax=600"] })).code, ResponseCode.Changed);
      const handle = server.endpoint.observe({ peer: server.clientPeer!, path: "/3/0/9" }, (error, response) => {
        if (!error) notes.push(response!);
      });
      await waitFor(platform, () => notes.length === 1, 2000, "the observe response");
      // pmax on the instance, which contains the observed resource; no value changes afterwards.
      assert.equal((await server.request({ method: Method.PUT, path: "/3/0", query: ["pmax=1"] })).code, ResponseCode.Changed);
      await waitFor(platform, () => notes.length >= 2, 8000, "a notification driven by the new pmax");
      assert.equal(notes[1]!.code, ResponseCode.Content);
      handle.cancel();
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 14: two Observe-Composite with different payloads are two observations, both notified; the same payload with a new token replaces", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    const device = store.get(ObjectId.Device)!.instance(0)!;
    const first: string[][] = [];
    const second: string[][] = [];
    const observe = (paths: string[], into: string[][]) =>
      server.endpoint.observe({ peer: server.clientPeer!, method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.SenmlJson, payload: compositeRequest(paths) }, (error, response) => {
        if (!error) into.push(valuesOf(response!));
      });
    try {
      const a = observe(["/3/0/9"], first);
      await waitFor(platform, () => first.length === 1, 2000, "first Observe-Composite");
      const b = observe(["/3/0/14"], second);
      await waitFor(platform, () => second.length === 1, 2000, "second Observe-Composite");
      assert.equal(client.observersOf(batteryLevel).length, 1, "the first observation is still there");
      assert.equal(client.observersOf(utcOffset).length, 1);

      device.set(DeviceResource.BatteryLevel, 55);
      await waitFor(platform, () => first.length === 2, 2000, "the first observation notified");
      assert.equal(first[1], ["/3/0/9=55"]);
      device.set(DeviceResource.UtcOffset, "+02:00");
      await waitFor(platform, () => second.length === 2, 2000, "the second observation notified");
      assert.equal(second[1], ["/3/0/14=+02:00"]);

      const again: string[][] = [];
      const c = observe(["/3/0/9"], again);
      await waitFor(platform, () => again.length === 1, 2000, "re-registration of the first payload");
      assert.equal(client.observersOf(batteryLevel).length, 1, "the same payload with a new token replaces the old observation");
      assert.equal(client.observersOf(utcOffset).length, 1, "the other payload's observation stays");
      device.set(DeviceResource.BatteryLevel, 56);
      await waitFor(platform, () => again.length === 2, 2000, "the replacing observation notified");
      assert.equal(again[1], ["/3/0/9=56"]);
      a.cancel(false);
      b.cancel();
      c.cancel();
      await waitFor(platform, () => client.observersOf(batteryLevel).length + client.observersOf(utcOffset).length === 0, 2000, "both cancelled");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 14: a Block2 follow-up of one FETCH is served from that FETCH's representation, never another's", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    const fetchBlock = (paths: string[], num: number) =>
      server.request({
        method: Method.FETCH,
        contentFormat: ContentFormat.SenmlJson,
        accept: ContentFormat.SenmlJson,
        payload: compositeRequest(paths),
        options: [{ number: OptionNumber.Block2, value: encodeBlock({ num, more: false, szx: 0 }) }],
      });
    const deviceInfo = ["/3/0/0", "/3/0/1", "/3/0/2"];
    const serverInfo = ["/1/0"];
    try {
      const whole = await server.request({ method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.SenmlJson, payload: compositeRequest(deviceInfo) });
      assert.equal(whole.code, ResponseCode.Content);
      const firstBlock = await fetchBlock(deviceInfo, 0);
      assert.equal(firstBlock.code, ResponseCode.Content);
      // Another FETCH on the same URI, with another payload, between the blocks of the first.
      assert.equal((await fetchBlock(serverInfo, 0)).code, ResponseCode.Content);
      const parts: Uint8Array[] = [firstBlock.payload];
      const etag = getOption(firstBlock, OptionNumber.ETag);
      for (let num = 1; num < 64; num++) {
        const block = await fetchBlock(deviceInfo, num);
        assert.equal(block.code, ResponseCode.Content);
        assert.equal(getOption(block, OptionNumber.ETag), etag, `block ${num} comes from the same representation`);
        parts.push(block.payload);
        if (!decodeBlock(getOption(block, OptionNumber.Block2)!)!.more) break;
      }
      const length = parts.reduce((sum, part) => sum + part.length, 0);
      const joined = new Uint8Array(length);
      let at = 0;
      for (const part of parts) (joined.set(part, at), (at += part.length));
      assert.equal(joined, whole.payload, "the blocks assemble the first FETCH's answer");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });
});
