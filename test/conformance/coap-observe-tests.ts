import { MessageType, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import type { ServerExchange } from "../../modules/coap/endpoint.js";
import { getUintOption } from "../../modules/coap/message.js";
import type { Observer } from "../../modules/coap/observers.js";
import { asText, openEndpoint, openRecordingEndpoint, peerOf, text } from "./coap-helpers.js";
import { assert, waitFor, type TestBody } from "./harness.js";

/** The observe tests of the "CoAP endpoint" suite (RFC 7641, both sides). */
export function observeTests(test: (name: string, body: TestBody) => void): void {
  test("observe: registration, CON and NON notifications, proactive and reactive cancel", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    let observer: Observer | undefined;
    const cancelReasons: string[] = [];
    server.setHandler((exchange: ServerExchange) => {
      observer = exchange.acceptObserve((reason) => cancelReasons.push(reason)) ?? observer;
      exchange.respond({ code: ResponseCode.Content, payload: text("v0") });
    });
    try {
      const peer = peerOf(server);
      const seen: string[] = [];
      const sequences: number[] = [];
      const handle = client.observe({ peer, path: "/time" }, (error, response) => {
        if (error) seen.push(`error ${error.kind}`);
        else {
          seen.push(asText(response!.payload));
          sequences.push(getUintOption(response!, OptionNumber.Observe)!);
        }
      });
      await waitFor(platform, () => seen.length === 1, 1000, "the registration response");
      assert.ok(observer?.active, "server registered the observer");
      const outcomes: string[] = [];
      observer!.notify({ code: ResponseCode.Content, payload: text("v1") }, { confirmable: true, onDone: (o) => outcomes.push(o) });
      observer!.notify({ code: ResponseCode.Content, payload: text("v2") }, { confirmable: true, onDone: (o) => outcomes.push(o) });
      observer!.notify({ code: ResponseCode.Content, payload: text("v3") }, { onDone: (o) => outcomes.push(o) });
      await waitFor(platform, () => seen.length === 4, 1000, "three notifications");
      assert.equal(seen, ["v0", "v1", "v2", "v3"]);
      assert.ok(sequences[1]! > sequences[0]! && sequences[3]! > sequences[2]!, `sequence numbers increase: ${sequences.join(",")}`);
      assert.equal(outcomes, ["acknowledged", "acknowledged", "sent"]);
      handle.cancel();
      await waitFor(platform, () => server.listObservers().length === 0, 1000, "deregistration");
      assert.equal(cancelReasons, ["deregistered"]);

      // Reactive cancel: the next notification is answered with RST.
      const again = client.observe({ peer, path: "/time" }, () => undefined);
      await waitFor(platform, () => server.listObservers().length === 1, 1000, "a second registration");
      again.cancel(false);
      const outcome2: string[] = [];
      server.listObservers()[0]!.notify({ code: ResponseCode.Content, payload: text("v4") }, { confirmable: true, onDone: (o) => outcome2.push(o) });
      await waitFor(platform, () => outcome2.length === 1, 1000, "the RST");
      assert.equal(outcome2, ["reset"]);
      assert.equal(server.listObservers().length, 0);
      assert.equal(cancelReasons[1], "reset");
    } finally {
      client.close();
      server.close();
    }
  });

  test("notification queued before the observe response leaves after it, with a higher Observe number", async ({ platform }) => {
    const { endpoint: server, sent } = await openRecordingEndpoint(platform);
    const client = await openEndpoint(platform);
    server.setHandler((exchange) => {
      // As when a subscription callback fires inside the handler.
      exchange.acceptObserve()?.notify({ code: ResponseCode.Content, payload: text("n1") });
      exchange.respond({ code: ResponseCode.Content, payload: text("r0") });
    });
    try {
      const seen: string[] = [];
      client.observe({ peer: peerOf(server), path: "/v" }, (error, response) => seen.push(error ? `error ${error.kind}` : asText(response!.payload)));
      await waitFor(platform, () => sent.length >= 2, 1000, "the response and the notification");
      assert.equal(sent.map((m) => asText(m.payload)), ["r0", "n1"], "the response leaves first");
      assert.equal(sent[0]!.type, MessageType.Acknowledgement, "piggybacked response");
      const observe = sent.map((m) => getUintOption(m, OptionNumber.Observe)!);
      assert.ok(observe[1]! > observe[0]!, `Observe numbers increase: ${observe.join(",")}`);
      await waitFor(platform, () => seen.length >= 2, 1000, "the response and the notification at the client");
      assert.equal(seen, ["r0", "n1"]);
      assert.equal(server.listObservers().length, 1);
    } finally {
      client.close();
      server.close();
    }
  });

  test("notification queued before a separate observe response leaves after it, with a higher Observe number", async ({ platform }) => {
    const { endpoint: server, sent } = await openRecordingEndpoint(platform);
    const client = await openEndpoint(platform);
    let deferred: ServerExchange | undefined;
    const outcomes: string[] = [];
    server.setHandler((exchange) => {
      exchange.acceptObserve()?.notify({ code: ResponseCode.Content, payload: text("n1") }, { confirmable: true, onDone: (o) => outcomes.push(o) });
      deferred = exchange;
    });
    try {
      const seen: string[] = [];
      client.observe({ peer: peerOf(server), path: "/v" }, (error, response) => seen.push(error ? `error ${error.kind}` : asText(response!.payload)));
      await waitFor(platform, () => sent.length >= 1, 1000, "the empty ACK");
      assert.equal([sent[0]!.type, sent[0]!.code], [MessageType.Acknowledgement, 0], "only an empty ACK before the response");
      deferred!.respond({ code: ResponseCode.Content, payload: text("r0") });
      await waitFor(platform, () => sent.length >= 3, 1000, "the separate response and the notification");
      const after = sent.slice(1).filter((m) => m.code !== 0);
      assert.equal(after.map((m) => asText(m.payload)), ["r0", "n1"], "the response leaves first");
      assert.equal(after[0]!.type, MessageType.Confirmable, "separate response");
      assert.ok(getUintOption(after[1]!, OptionNumber.Observe)! > getUintOption(after[0]!, OptionNumber.Observe)!, "Observe numbers increase");
      await waitFor(platform, () => seen.length >= 2 && outcomes.length === 1, 1000, "both at the client and the notification's ACK");
      assert.equal(seen, ["r0", "n1"]);
      assert.equal(outcomes, ["acknowledged"]);
    } finally {
      client.close();
      server.close();
    }
  });

  test("notification queued before an error response to the observe request ends cancelled, unsent", async ({ platform }) => {
    const { endpoint: server, sent } = await openRecordingEndpoint(platform);
    const client = await openEndpoint(platform);
    const outcomes: string[] = [];
    const reasons: string[] = [];
    server.setHandler((exchange) => {
      exchange.acceptObserve((reason) => reasons.push(reason))?.notify({ code: ResponseCode.Content, payload: text("n1") }, { onDone: (o) => outcomes.push(o) });
      exchange.respond({ code: ResponseCode.NotFound });
    });
    try {
      const responses: number[] = [];
      client.observe({ peer: peerOf(server), path: "/gone" }, (error, response) => responses.push(error ? -1 : response!.code));
      await waitFor(platform, () => responses.length >= 1, 1000, "the response");
      assert.equal(responses, [ResponseCode.NotFound]);
      assert.equal(outcomes, ["cancelled"]);
      assert.equal(reasons, ["cancelled"]);
      assert.equal(sent.map((m) => m.code), [ResponseCode.NotFound], "no notification on the wire");
      assert.equal(server.listObservers().length, 0);
    } finally {
      client.close();
      server.close();
    }
  });
}
