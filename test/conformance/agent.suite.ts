import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import type { Platform } from "../../hal/platform.js";
import { AgentTiny } from "../../modules/agent/agent.js";
import { AgentCode, AgentEvent, ReportType } from "../../modules/agent/constants.js";
import { AgentError, type AgentParams } from "../../modules/agent/params.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { utf8Decode, utf8Encode } from "../../modules/coap/message.js";
import { clearBootstrapConfig } from "../../modules/lwm2m/bootstrap-store.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import { FAST } from "./coap-helpers.js";
import { assert, sleep, suite, waitFor } from "./harness.js";
import { finals, observeUplink, startAgent } from "./agent-helpers.js";
import { openTestServer } from "./lwm2m-helpers.js";

export default suite("Agent Tiny API", (test) => {
  test("init rejects bad parameters with ARG_INVALID and a reason", () => {
    const bad: [unknown, string][] = [
      [{ server: { binding: "X" }, iotServer: { uri: "coap://127.0.0.1:5683" } }, "binding"],
      [{ server: { binding: undefined }, iotServer: { uri: "coap://127.0.0.1" } }, "binding"],
      [{ server: { binding: "U" } }, "iotServer is required"],
      [{ server: { binding: "U", bootstrapMode: "client-initiated" }, iotServer: { uri: "coap://127.0.0.1" } }, "bootstrapServer is required"],
      [{ server: { binding: "U" }, iotServer: { uri: "http://x" } }, "iotServer.uri"],
      [{ server: { binding: "U", storingCount: 0 }, iotServer: { uri: "coap://127.0.0.1" } }, "storingCount"],
      [{ server: { binding: "U" }, iotServer: { uri: "coaps://127.0.0.1", pskId: "id", psk: new Uint8Array(65) } }, "psk must be 1..64 bytes"],
      [{ server: { binding: "U" }, iotServer: { uri: "coap://127.0.0.1", pskId: "id" } }, "both pskId and psk"],
      [{ server: { binding: "U" }, iotServer: { uri: "coaps://127.0.0.1", pskId: "id", psk: Uint8Array.of(0, 1, 0) } }, "DTLS"],
    ];
    for (const [params, reason] of bad) {
      let caught: unknown;
      try {
        AgentTiny.init(params as AgentParams, undefined as unknown as Platform);
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof AgentError && caught.code === AgentCode.ArgInvalid && caught.message.indexOf(reason) >= 0, `${reason}: ${String(caught)}`);
    }
  });

  test("bind registers, serves the device hooks and delivers downlink data with its instance", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server);
    try {
      await waitFor(platform, () => h.events.indexOf(AgentEvent.RegOk) >= 0, 1000, "REG_OK");
      assert.equal(utf8Decode((await server.request({ method: Method.GET, path: "/3/0/0" })).payload), "Moddable Example");
      assert.equal(utf8Decode((await server.request({ method: Method.GET, path: "/3/0/9" })).payload), "88");
      assert.equal(utf8Decode((await server.request({ method: Method.GET, path: "/4/0/2" })).payload), "-60");
      assert.equal(utf8Decode((await server.request({ method: Method.GET, path: "/6/0/0" })).payload), "52.5");
      assert.equal((await server.request({ method: Method.PUT, path: "/19/1/0/0", contentFormat: ContentFormat.OctetStream, payload: utf8Encode("open valve") })).code, ResponseCode.Changed);
      assert.equal(h.downlink, ["1:open valve"]);
      const two = encodeTlv({ objectId: 19, instanceId: 1, resourceId: 0 }, [0, 1].map((riid) => ({ path: { objectId: 19, instanceId: 1, resourceId: 0, resourceInstanceId: riid }, value: utf8Encode(`cmd${riid}`), type: "opaque" as const })), new Set([0]));
      assert.equal((await server.request({ method: Method.PUT, path: "/19/1/0", contentFormat: ContentFormat.LwM2mTlv, payload: two })).code, ResponseCode.Changed);
      assert.equal(h.downlink, ["1:open valve", "1:cmd0", "1:cmd1"], "each written data item, with its whole length");
      assert.equal(h.agent.dataReport({ type: ReportType.AppData, cookie: 1, buf: new Uint8Array(0) }), AgentCode.ArgInvalid);
      assert.equal(h.agent.dataReport({ type: ReportType.AppData, cookie: 1, buf: new Uint8Array(1025) }), AgentCode.ArgInvalid);
    } finally {
      await h.close();
      server.close();
    }
  });

  test("reports wait (SEND_PENDING) until observed, then each ends in SENT_SUCCESS, in order; the queue is bounded", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server, { storingCount: 3 });
    const received: string[] = [];
    try {
      assert.equal(h.report(1, "t=21.5"), AgentCode.Ok);
      assert.equal(h.report(2, "t=21.6"), AgentCode.Ok);
      assert.equal(h.report(3, "t=21.7"), AgentCode.Ok);
      assert.equal(h.report(4, "t=21.8"), AgentCode.ResourceNotEnough);
      await sleep(platform, 30);
      assert.equal(h.statuses.get(1), ["SEND_PENDING"]);
      const handle = observeUplink(server, received);
      await waitFor(platform, () => finals(h.statuses.get(3)).length === 1, 3000, "all three reports");
      assert.ok(h.events.indexOf(AgentEvent.DataSubscribe) >= 0, "DATA_SUBSCRIBE emitted");
      assert.equal(h.statuses.get(1), ["SEND_PENDING", "SENT_WAIT_RESPONSE", "SENT_SUCCESS"]);
      assert.equal(received, ["t=21.5", "t=21.6", "t=21.7"]);
      assert.equal(utf8Decode((await server.request({ method: Method.GET, path: "/19/0/0/0" })).payload), "t=21.7", "a plain read shows the last report");
      handle.cancel();
      await waitFor(platform, () => h.events.indexOf(AgentEvent.DataUnsubscribe) >= 0, 1000, "DATA_UNSUBSCRIBE");
    } finally {
      await h.close();
      server.close();
    }
  });

  test("SENT_GET_RST, SENT_TIME_OUT, SENT_FAIL and NOT_SENT are each produced", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server);
    const received: string[] = [];
    try {
      // RST: the server forgets the observation; an RST is not a success.
      const forgetful = observeUplink(server, received);
      await waitFor(platform, () => h.events.indexOf(AgentEvent.DataSubscribe) >= 0, 1000, "subscription");
      forgetful.cancel(false);
      h.report(10, "rst");
      await waitFor(platform, () => finals(h.statuses.get(10)).length === 1, 2000, "the RST");
      assert.equal(finals(h.statuses.get(10)), ["SENT_GET_RST"]);

      // Timeout: the server observes, then goes silent.
      observeUplink(server, received);
      await waitFor(platform, () => h.agent.lwm2m!.observersOf({ objectId: 19, instanceId: 0, resourceId: 0 }).length === 1, 1000, "a new observer");
      server.close();
      h.report(11, "lost");
      await waitFor(platform, () => finals(h.statuses.get(11)).length === 1, 3000, "the timeout");
      assert.equal(finals(h.statuses.get(11)), ["SENT_TIME_OUT"]);

      // NOT_SENT: reports still waiting at deinit; SENT_FAIL: the one on the wire.
      const second = await openTestServer(platform);
      const h2 = await startAgent(platform, second);
      h2.report(20, "waiting");
      await sleep(platform, 20);
      await h2.close();
      assert.equal(h2.statuses.get(20), ["SEND_PENDING", "NOT_SENT"]);
      const third = await openTestServer(platform);
      const h3 = await startAgent(platform, third);
      observeUplink(third, received);
      await waitFor(platform, () => h3.agent.lwm2m!.observersOf({ objectId: 19, instanceId: 0, resourceId: 0 }).length === 1, 1000, "observer");
      third.endpoint.close(); // no ACK will come
      h3.report(30, "in flight");
      h3.report(31, "queued");
      await waitFor(platform, () => (h3.statuses.get(30) ?? []).indexOf("SENT_WAIT_RESPONSE") >= 0, 1000, "on the wire");
      await h3.close();
      assert.equal(finals(h3.statuses.get(30)), ["SENT_FAIL"]);
      assert.equal(finals(h3.statuses.get(31)), ["NOT_SENT"]);
      second.close();
    } finally {
      await h.close();
    }
  });

  test("FIRMWARE_UPDATE_STATE reports reach the observers of /5/0/3", async ({ platform }) => {
    const server = await openTestServer(platform);
    const h = await startAgent(platform, server);
    const states: string[] = [];
    try {
      server.endpoint.observe({ peer: server.clientPeer!, path: "/5/0/3" }, (error, response) => {
        if (!error) states.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => states.length === 1, 1000, "observation");
      h.report(5, "1", ReportType.FirmwareUpdateState);
      await waitFor(platform, () => finals(h.statuses.get(5)).length === 1, 2000, "the state report");
      assert.equal(finals(h.statuses.get(5)), ["SENT_SUCCESS"]);
      assert.equal(states[states.length - 1], "1");
      assert.ok(h.events.indexOf(AgentEvent.FotaState) >= 0, "FOTA_STATE emitted");
    } finally {
      await h.close();
      server.close();
    }
  });

  test("under 20 % loss and 10 % duplication every report ends once, and each success reached the server exactly once", async ({ platform }) => {
    const server = await openTestServer(platform);
    const lossy = new FaultyNet(platform.net, platform.time, { loss: 0.2, duplicate: 0.1, seed: 9 });
    const h = await startAgent(platform, server, { net: lossy, storingCount: 32 });
    const received: string[] = [];
    try {
      for (let attempt = 0; attempt < 5 && h.events.indexOf(AgentEvent.DataSubscribe) < 0; attempt++) {
        const handle = observeUplink(server, received);
        await sleep(platform, 400);
        if (h.events.indexOf(AgentEvent.DataSubscribe) < 0) handle.cancel(false);
      }
      for (let i = 0; i < 20; i++) h.report(100 + i, `r${i}`);
      await waitFor(platform, () => Array.from({ length: 20 }, (_, i) => finals(h.statuses.get(100 + i)).length).every((n) => n === 1), 15000, "every report to end");
      for (let i = 0; i < 20; i++) {
        const ends = finals(h.statuses.get(100 + i));
        assert.equal(ends.length, 1, `report ${i} ends once: ${(h.statuses.get(100 + i) ?? []).join(",")}`);
        const copies = received.filter((r) => r === `r${i}`).length;
        if (ends[0] === "SENT_SUCCESS") assert.equal(copies, 1, `r${i} reached the server once`);
        else assert.ok(copies <= 1, `r${i} at most once`);
      }
      assert.ok(lossy.stats.dropped > 0 && lossy.stats.duplicated > 0, "faults happened");
    } finally {
      await h.close();
      server.close();
    }
  });

  // A PSK account is coaps://: with a DTLS engine Finish takes it and updatePsk hears it; without one Finish refuses it (4.06).
  test("a bootstrap that provisions PSK credentials reaches updatePsk (ATINY_UPDATE_PSK); a build without DTLS refuses them", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bootstrap = await openTestServer(platform);
    const updates: string[] = [];
    let clientPeer: { address: string; port: number } | undefined;
    bootstrap.endpoint.setHandler((exchange) => {
      clientPeer = exchange.request.peer;
      exchange.respond({ code: ResponseCode.Changed });
    });
    const agent = AgentTiny.init(
      { server: { binding: "U", bootstrapMode: "client-initiated" }, bootstrapServer: { uri: `coap://127.0.0.1:${bootstrap.endpoint.localPort}` } },
      platform,
      { coap: FAST },
    );
    agent.bind({ endpointName: "psk-dev", manufacturer: "Moddable Example" }, { updatePsk: (identity, key) => void updates.push(`${identity}:${Array.from(key).join(".")}`) });
    try {
      await waitFor(platform, () => clientPeer !== undefined, 2000, "the Bootstrap-Request");
      const entries = [
        { path: { objectId: 0, instanceId: 1, resourceId: 0 }, value: `coaps://127.0.0.1:${dm.endpoint.localPort}`, type: "string" as const },
        { path: { objectId: 0, instanceId: 1, resourceId: 1 }, value: false, type: "boolean" as const },
        { path: { objectId: 0, instanceId: 1, resourceId: 2 }, value: 0, type: "integer" as const },
        { path: { objectId: 0, instanceId: 1, resourceId: 3 }, value: utf8Encode("device-7"), type: "opaque" as const },
        { path: { objectId: 0, instanceId: 1, resourceId: 5 }, value: Uint8Array.of(1, 2, 3), type: "opaque" as const },
        { path: { objectId: 0, instanceId: 1, resourceId: 10 }, value: 7, type: "integer" as const },
      ];
      const server = [
        { path: { objectId: 1, instanceId: 1, resourceId: 0 }, value: 7, type: "integer" as const },
        { path: { objectId: 1, instanceId: 1, resourceId: 1 }, value: 60, type: "integer" as const },
        { path: { objectId: 1, instanceId: 1, resourceId: 7 }, value: "U", type: "string" as const },
      ];
      const send = (path: string, payload: Uint8Array) => bootstrap.endpoint.requestAsync({ peer: clientPeer!, method: Method.PUT, path, contentFormat: ContentFormat.LwM2mTlv, payload });
      assert.equal((await send("/0/1", encodeTlv({ objectId: 0, instanceId: 1 }, entries, new Set()))).code, ResponseCode.Changed);
      assert.equal((await send("/1/1", encodeTlv({ objectId: 1, instanceId: 1 }, server, new Set()))).code, ResponseCode.Changed);
      const finish = await bootstrap.endpoint.requestAsync({ peer: clientPeer!, method: Method.POST, path: "/bs" });
      if (!platform.dtls) {
        assert.equal(finish.code, ResponseCode.NotAcceptable);
        assert.ok(utf8Decode(finish.payload).indexOf("this build has no DTLS") >= 0, utf8Decode(finish.payload));
        assert.equal(updates, []);
        return;
      }
      assert.equal(finish.code, ResponseCode.Changed);
      await waitFor(platform, () => updates.length === 1, 1000, "updatePsk");
      assert.equal(updates, ["device-7:1.2.3"]);
    } finally {
      await new Promise<void>((resolve) => agent.deinit(resolve));
      clearBootstrapConfig(platform.settings); // the agent kept the bootstrapped accounts in the platform's settings
      bootstrap.close();
      dm.close();
    }
  });
});
