import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import { AgentCode, AgentEvent, ReportType } from "../../modules/agent/constants.js";
import { decodeMessage } from "../../modules/coap/codec.js";
import { ContentFormat, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { getUintOption, getUriPath, utf8Decode, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";
import { decodeSenmlCbor } from "../../modules/lwm2m/content/senml.js";
import { decodeTlv } from "../../modules/lwm2m/content/tlv.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { finals, observeUplink, startAgent, type Harness } from "./agent-helpers.js";
import { assert, sleep, suite, waitFor } from "./harness.js";
import { openTestServer, type TestServer } from "./lwm2m-helpers.js";

/** A Registration Update: POST to the registration's location /rd/<n>. */
function isUpdate(datagram: Uint8Array): boolean {
  const decoded = decodeMessage(datagram);
  return decoded.ok && decoded.message.code === Method.POST && getUriPath(decoded.message).length === 2 && getUriPath(decoded.message)[0] === "rd";
}

async function subscribed(platform: Parameters<typeof waitFor>[0], h: Harness): Promise<void> {
  await waitFor(platform, () => h.events.indexOf(AgentEvent.DataSubscribe) >= 0, 2000, "DATA_SUBSCRIBE");
}

async function reportAndSettle(platform: Parameters<typeof waitFor>[0], h: Harness, cookie: number, text: string): Promise<string[]> {
  assert.equal(h.report(cookie, text), AgentCode.Ok);
  await waitFor(platform, () => finals(h.statuses.get(cookie)).length === 1, 3000, `report ${cookie} to end`);
  return finals(h.statuses.get(cookie));
}

const lookup = (objectId: number, resourceId: number) => createStandardStore().get(objectId)?.resource(resourceId);

/** Observes `path` and keeps every notification (not the observe response). */
function observe(server: TestServer, path: string, accept: number | undefined, notifications: CoapMessage[]): void {
  let responded = false;
  server.endpoint.observe({ peer: server.clientPeer!, path, ...(accept !== undefined ? { accept } : {}) }, (error, response) => {
    if (error) return;
    if (responded) notifications.push(response!);
    responded = true;
  });
}

export default suite("Agent reports through the engine", (test) => {
  test("a report queued while a Registration Update is in flight goes out at once", async ({ platform }) => {
    const server = await openTestServer(platform);
    let h: Harness | undefined;
    let reportedWhileUpdating = false;
    // The report is queued the moment the Update leaves (the Registration Update Trigger started it).
    const watching = new FaultyNet(platform.net, platform.time, {
      direction: "send",
      drop: (datagram) => {
        if (!reportedWhileUpdating && isUpdate(datagram)) {
          reportedWhileUpdating = true;
          platform.time.setTimer(0, () => h!.report(1, "during update"));
        }
        return false;
      },
    });
    h = await startAgent(platform, server, { net: watching });
    const received: string[] = [];
    try {
      observeUplink(server, received);
      await subscribed(platform, h);
      assert.equal((await server.request({ method: Method.POST, path: "/1/0/8" })).code, ResponseCode.Changed, "Registration Update Trigger");
      await waitFor(platform, () => finals(h!.statuses.get(1)).length === 1, 3000, "the report to end");
      assert.equal(finals(h.statuses.get(1)), ["SENT_SUCCESS"]);
      assert.equal(received, ["during update"]);
      await waitFor(platform, () => server.updates.length === 1, 1000, "the Update");
    } finally {
      await h.close();
      server.close();
    }
  });

  test("a report queued while the Update is lost (and retransmitted) goes out at once", async ({ platform }) => {
    const server = await openTestServer(platform);
    let updatesToDrop = 1;
    const lossy = new FaultyNet(platform.net, platform.time, {
      direction: "send",
      drop: (datagram) => {
        if (updatesToDrop === 0 || !isUpdate(datagram)) return false;
        updatesToDrop--;
        return true;
      },
    });
    const h = await startAgent(platform, server, { net: lossy });
    const received: string[] = [];
    try {
      observeUplink(server, received);
      await subscribed(platform, h);
      h.agent.reconnect();
      assert.equal(await reportAndSettle(platform, h, 2, "update lost"), ["SENT_SUCCESS"]);
      assert.equal(received, ["update lost"]);
      assert.equal(lossy.stats.dropped, 1, "the first Update was lost");
      await waitFor(platform, () => server.updates.length === 1, 2000, "the retransmitted Update");
    } finally {
      await h.close();
      server.close();
    }
  });

  test("a report queued during queue-mode sleep wakes the client: the Update first, then the notification", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server, { binding: "UQ", queueIdleMs: 150 });
    const updatesSeenAt: number[] = [];
    try {
      let responded = false;
      server.endpoint.observe({ peer: server.clientPeer!, path: "/19/0/0" }, (error) => {
        if (error) return;
        if (responded) updatesSeenAt.push(server.updates.length);
        responded = true;
      });
      await subscribed(platform, h);
      await sleep(platform, 400); // past the idle time: the client no longer listens
      assert.equal(server.updates.length, 0);
      assert.equal(await reportAndSettle(platform, h, 3, "asleep"), ["SENT_SUCCESS"]);
      assert.equal(updatesSeenAt, [1], "one notification, after the wake-up Update");
    } finally {
      await h.close();
      server.close();
    }
  });

  test("a report queued right after reconnect() goes out without waiting for another event", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server);
    const received: string[] = [];
    try {
      observeUplink(server, received);
      await subscribed(platform, h);
      h.agent.reconnect();
      assert.equal(await reportAndSettle(platform, h, 4, "after reconnect"), ["SENT_SUCCESS"]);
      await waitFor(platform, () => server.updates.length === 1, 1000, "the Update");
      assert.equal(await reportAndSettle(platform, h, 5, "after the Update"), ["SENT_SUCCESS"]);
      assert.equal(received, ["after reconnect", "after the Update"]);
    } finally {
      await h.close();
      server.close();
    }
  });

  test("each observer gets a report once, in the format it asked for: Accept 112 SenML CBOR, none opaque, /19/0 TLV", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server);
    const cbor: CoapMessage[] = [];
    const instance: CoapMessage[] = [];
    const plain: CoapMessage[] = [];
    try {
      observe(server, "/19/0/0", ContentFormat.SenmlCbor, cbor);
      observe(server, "/19/0", undefined, instance);
      await waitFor(platform, () => h.agent.lwm2m!.observersOf({ objectId: 19, instanceId: 0, resourceId: 0 }).length === 2, 1000, "two observers");
      assert.equal(await reportAndSettle(platform, h, 6, "first"), ["SENT_SUCCESS"]);
      assert.equal(cbor.length, 1);
      assert.equal(getUintOption(cbor[0]!, OptionNumber.ContentFormat), ContentFormat.SenmlCbor);
      assert.equal(utf8Decode(decodeSenmlCbor({ objectId: 19, instanceId: 0, resourceId: 0 }, cbor[0]!.payload, lookup)[0]!.value as Uint8Array), "first");
      assert.equal(instance.length, 1);
      assert.equal(getUintOption(instance[0]!, OptionNumber.ContentFormat), ContentFormat.LwM2mTlv);
      const items = decodeTlv({ objectId: 19, instanceId: 0 }, instance[0]!.payload, lookup);
      assert.equal(items.map((item) => utf8Decode(item.value as Uint8Array)), ["first"]);

      observe(server, "/19/0/0", undefined, plain); // replaces the SenML CBOR observer of the same resource
      await waitFor(platform, () => plain.length === 0 && h.agent.lwm2m!.observersOf({ objectId: 19, instanceId: 0, resourceId: 0 }).length === 2, 1000, "the plain observer");
      await sleep(platform, 20);
      assert.equal(await reportAndSettle(platform, h, 7, "second"), ["SENT_SUCCESS"]);
      assert.equal(plain.length, 1);
      assert.equal(getUintOption(plain[0]!, OptionNumber.ContentFormat), ContentFormat.OctetStream);
      assert.equal(utf8Decode(plain[0]!.payload), "second");
      assert.equal(cbor.length, 1, "the replaced observer hears nothing more");
      assert.equal(instance.length, 2);
    } finally {
      await h.close();
      server.close();
    }
  });

  test("FIRMWARE_UPDATE_STATE takes states 0..3 only, goes through the state machine and notifies once", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server);
    const states: CoapMessage[] = [];
    try {
      assert.equal(h.agent.dataReport({ type: ReportType.FirmwareUpdateState, cookie: 1, buf: Uint8Array.of(200) }), AgentCode.ArgInvalid);
      assert.equal(h.agent.dataReport({ type: ReportType.FirmwareUpdateState, cookie: 1, buf: Uint8Array.of(4) }), AgentCode.ArgInvalid);
      observe(server, "/5/0/3", undefined, states);
      await waitFor(platform, () => h.agent.lwm2m!.observersOf({ objectId: 5, instanceId: 0, resourceId: 3 }).length === 1, 1000, "observer of /5/0/3");
      h.report(8, "1", ReportType.FirmwareUpdateState);
      await waitFor(platform, () => finals(h.statuses.get(8)).length === 1, 2000, "the state report");
      assert.equal(finals(h.statuses.get(8)), ["SENT_SUCCESS"]);
      await sleep(platform, 50);
      assert.equal(states.map((message) => utf8Decode(message.payload)), ["1"], "one notification");
      assert.equal(utf8Decode((await server.request({ method: Method.GET, path: "/5/0/3" })).payload), "1");
      assert.equal((await server.request({ method: Method.PUT, path: "/5/0/1", contentFormat: ContentFormat.TextPlain, payload: utf8Encode("coap://127.0.0.1/fw") })).code, ResponseCode.MethodNotAllowed, "not Idle: no new download");
    } finally {
      await h.close();
      server.close();
    }
  });
});
