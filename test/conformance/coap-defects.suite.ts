import { Logger } from "../../hal/log.js";
import type { Time, TimerHandle } from "../../hal/time.js";
import { encodeMessage } from "../../modules/coap/codec.js";
import { MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint as Endpoint, type CoapEndpoint } from "../../modules/coap/endpoint.js";
import type { CoapError } from "../../modules/coap/errors.js";
import { addOption, createMessage, emptyBytes, getOption, setUriPath, type CoapMessage } from "../../modules/coap/message.js";
import type { NotifyOutcome, Observer } from "../../modules/coap/observers.js";
import { preconditionsHold } from "../../modules/coap/preconditions.js";
import { RepeatedWarning } from "../../modules/coap/repeated-warning.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { asText, FAST, openEndpoint, openRawPeer, openRecordingEndpoint, peerOf, text, type RawPeer } from "./coap-helpers.js";
import { assert, sleep, suite, waitFor } from "./harness.js";

function outcome(endpoint: CoapEndpoint, options: Parameters<CoapEndpoint["request"]>[0]): Promise<{ error?: CoapError; response?: CoapMessage }> {
  return new Promise((resolve) => endpoint.request(options, (error, response) => resolve(error ? { error } : { response: response! })));
}

/** A CoAP ping from `raw` and its RST back: everything `raw` sent before has been handled by `endpoint`. */
async function roundTrip(raw: RawPeer, endpoint: { localPort: number }, messageId: number): Promise<void> {
  const before = raw.received.length;
  raw.send(encodeMessage(createMessage(MessageType.Confirmable, 0, messageId)), peerOf(endpoint));
  await raw.waitFor(before + 1);
}

export default suite("CoAP defects (issue 9)", (test) => {
  test("defect 21: a non-2.xx notification carries no Observe option and ends the observation", async ({ platform }) => {
    const { endpoint: server, sent } = await openRecordingEndpoint(platform);
    const client = await openEndpoint(platform);
    let observer: Observer | undefined;
    const reasons: string[] = [];
    server.setHandler((exchange) => {
      observer = exchange.acceptObserve((reason) => reasons.push(reason));
      exchange.respond({ code: ResponseCode.Content, payload: text("v0") });
    });
    try {
      const seen: string[] = [];
      client.observe({ peer: peerOf(server), path: "/3/0" }, (error, response) => seen.push(error ? `error ${error.kind}` : `${response!.code} ${asText(response!.payload)}`));
      await waitFor(platform, () => seen.length === 1, 1000, "the registration response");
      const outcomes: NotifyOutcome[] = [];
      // As the LwM2M layer does when the observed instance is deleted: a CON 2.05 still in flight, then the 4.04, then cancel().
      observer!.notify({ code: ResponseCode.Content, payload: text("v1") }, { confirmable: true, onDone: (o) => outcomes.push(o) });
      observer!.notify({ code: ResponseCode.NotFound }, { confirmable: true, onDone: (o) => outcomes.push(o) });
      observer!.cancel("cancelled");
      await waitFor(platform, () => seen.length === 3, 1000, "the last notification and the 4.04");
      assert.equal(seen, [`${ResponseCode.Content} v0`, `${ResponseCode.Content} v1`, `${ResponseCode.NotFound} `]);
      const final = sent.filter((m) => m.code === ResponseCode.NotFound);
      assert.equal(final.length, 1, "the 4.04 went out");
      assert.equal(getOption(final[0]!, OptionNumber.Observe), undefined, "RFC 7641 §4.2: no Observe option on a non-2.xx notification");
      assert.ok(getOption(sent.find((m) => asText(m.payload) === "v1")!, OptionNumber.Observe) !== undefined, "2.05 notifications keep it");
      assert.equal(server.listObservers().length, 0, "the observer is gone");
      assert.equal(observer!.notify({ code: ResponseCode.Content }), false, "no notifications after the final one");
      await waitFor(platform, () => outcomes.length === 2, 1000, "both acknowledged");
      assert.equal(outcomes, ["acknowledged", "acknowledged"]);
      assert.equal(reasons, ["cancelled"]);
    } finally {
      client.close();
      server.close();
    }
  });

  test("defect 22: a piggybacked ACK with another token does not complete the request", async ({ platform }) => {
    const client = await openEndpoint(platform, { ...FAST, ackTimeoutMs: 200 });
    const raw = await openRawPeer(platform);
    try {
      const pending = outcome(client, { peer: peerOf(raw.socket), method: Method.GET, path: "/t" });
      let result: { error?: CoapError; response?: CoapMessage } | undefined;
      void pending.then((r) => (result = r));
      await raw.waitFor(1);
      const request = raw.received[0]!.message!;
      const wrongToken = request.token.slice();
      wrongToken[0] = wrongToken[0]! ^ 0xff;
      const wrong = createMessage(MessageType.Acknowledgement, ResponseCode.Content, request.messageId, wrongToken);
      wrong.payload = text("wrong");
      raw.send(encodeMessage(wrong), peerOf(client));
      await roundTrip(raw, client, 0x7001);
      assert.equal(result, undefined, "the mismatched ACK was not taken as the response");
      const right = createMessage(MessageType.Acknowledgement, ResponseCode.Content, request.messageId, request.token.slice());
      right.payload = text("right");
      raw.send(encodeMessage(right), peerOf(client));
      const done = await pending;
      assert.equal(done.response ? asText(done.response.payload) : `error ${done.error?.kind}`, "right");
      assert.equal(client.load.pendingCons, 0);
    } finally {
      raw.close();
      client.close();
    }
  });

  test("defect 23: If-Match and If-None-Match are evaluated, 4.12 when they fail", async ({ platform }) => {
    const etag = Uint8Array.of(1, 2);
    assert.equal(preconditionsHold({ ifMatch: [etag], ifNoneMatch: false }, { exists: true, etag }), true);
    assert.equal(preconditionsHold({ ifMatch: [Uint8Array.of(9)], ifNoneMatch: false }, { exists: true, etag }), false);
    assert.equal(preconditionsHold({ ifMatch: [emptyBytes()], ifNoneMatch: false }, { exists: true }), true, "empty If-Match: any representation");
    assert.equal(preconditionsHold({ ifMatch: [emptyBytes()], ifNoneMatch: false }, { exists: false }), false);
    assert.equal(preconditionsHold({ ifMatch: [etag], ifNoneMatch: false }, { exists: true }), false, "no current ETag cannot match");
    assert.equal(preconditionsHold({ ifMatch: [], ifNoneMatch: true }, { exists: true }), false);
    assert.equal(preconditionsHold({ ifMatch: [], ifNoneMatch: true }, { exists: false }), true);

    const plain = await openEndpoint(platform);
    const aware = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    let plainRuns = 0;
    plain.setHandler((exchange) => {
      plainRuns++;
      exchange.respond({ code: ResponseCode.Changed });
    });
    let awareRuns = 0;
    aware.setHandler(
      (exchange) => {
        const exists = exchange.request.path[0] === "there";
        if (!exchange.checkPreconditions({ exists, etag: exists ? etag : undefined })) return;
        awareRuns++;
        exchange.respond({ code: exists ? ResponseCode.Changed : ResponseCode.Created });
      },
      { evaluatesPreconditions: true },
    );
    const ifMatch = (value: Uint8Array) => [{ number: OptionNumber.IfMatch, value }];
    const ifNoneMatch = [{ number: OptionNumber.IfNoneMatch, value: emptyBytes() }];
    const put = async (server: CoapEndpoint, path: string, options: { number: number; value: Uint8Array }[]) => (await client.requestAsync({ peer: peerOf(server), method: Method.PUT, path, options })).code;
    try {
      // A handler that does not evaluate conditions: the server layer refuses rather than running them unconditionally.
      assert.equal(await put(plain, "/there", ifNoneMatch), ResponseCode.PreconditionFailed);
      assert.equal(await put(plain, "/there", ifMatch(etag)), ResponseCode.PreconditionFailed);
      assert.equal(plainRuns, 0, "conditional requests did not run");
      assert.equal(await put(plain, "/there", []), ResponseCode.Changed);
      // A handler that knows its resources decides.
      assert.equal(await put(aware, "/there", ifMatch(etag)), ResponseCode.Changed);
      assert.equal(await put(aware, "/there", ifMatch(Uint8Array.of(9))), ResponseCode.PreconditionFailed);
      assert.equal(await put(aware, "/there", ifNoneMatch), ResponseCode.PreconditionFailed);
      assert.equal(await put(aware, "/new", ifNoneMatch), ResponseCode.Created);
      assert.equal(awareRuns, 2);
    } finally {
      client.close();
      plain.close();
      aware.close();
    }
  });

  test("defect 24: an RST answering a NON notification removes the observer", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const raw = await openRawPeer(platform);
    let observer: Observer | undefined;
    const reasons: string[] = [];
    server.setHandler((exchange) => {
      observer = exchange.acceptObserve((reason) => reasons.push(reason));
      exchange.respond({ code: ResponseCode.Content, payload: text("v0") });
    });
    try {
      const register = createMessage(MessageType.Confirmable, Method.GET, 0x5101, Uint8Array.of(7, 7));
      addOption(register, OptionNumber.Observe, emptyBytes());
      setUriPath(register, "/o");
      raw.send(encodeMessage(register), peerOf(server));
      await raw.waitFor(1);
      assert.equal(server.listObservers().length, 1);
      observer!.notify({ code: ResponseCode.Content, payload: text("v1") });
      observer!.notify({ code: ResponseCode.Content, payload: text("v2") });
      await raw.waitFor(3);
      const notifications = raw.received.slice(1).map((r) => r.message!);
      assert.equal(notifications.map((m) => m.type), [MessageType.NonConfirmable, MessageType.NonConfirmable]);
      // An RST with an unrelated message ID changes nothing.
      raw.send(encodeMessage(createMessage(MessageType.Reset, 0, (notifications[1]!.messageId + 100) & 0xffff)), peerOf(server));
      await roundTrip(raw, server, 0x5102);
      assert.equal(server.listObservers().length, 1);
      // The RST answers the older of the two NON notifications.
      raw.send(encodeMessage(createMessage(MessageType.Reset, 0, notifications[0]!.messageId)), peerOf(server));
      await roundTrip(raw, server, 0x5103);
      assert.equal(server.listObservers().length, 0, "the observer is gone");
      assert.equal(reasons, ["reset"]);
      assert.equal(observer!.notify({ code: ResponseCode.Content, payload: text("v3") }), false);
    } finally {
      raw.close();
      server.close();
    }
  });

  test("defect 26: a flood of oversize datagrams logs one line, then a count per interval", async ({ platform }) => {
    const lines: string[] = [];
    const server = await openEndpointWithLog(platform, lines);
    const raw = await openRawPeer(platform);
    try {
      const big = createMessage(MessageType.Confirmable, Method.PUT, 0, Uint8Array.of(1));
      big.payload = new Uint8Array(300);
      for (let i = 0; i < 40; i++) {
        big.messageId = 0x6000 + i;
        raw.send(encodeMessage(big), peerOf(server));
      }
      await raw.waitFor(40);
      assert.equal(raw.received.map((r) => r.message!.code).filter((c) => c === ResponseCode.RequestEntityTooLarge).length, 40, "each still gets its 4.13");
      assert.equal(server.stats.rejected, 40);
      assert.equal(lines.filter((l) => l.indexOf("rejected") >= 0).length, 1, `one line, not forty: ${lines.join(" | ")}`);

      // The summary, with a clock and timers the test drives.
      const fake = new FakeTime();
      const warnings: string[] = [];
      const warning = new RepeatedWarning(fake, (line) => warnings.push(line), 10000);
      for (let i = 0; i < 5; i++) warning.report(`rejected a ${100 + i}-byte message`);
      assert.equal(warnings, ["rejected a 100-byte message"]);
      fake.advance(10000);
      assert.equal(warnings.length, 2);
      assert.ok(warnings[1]!.indexOf("4 more") >= 0, warnings[1]!);
      fake.advance(10000);
      assert.equal(warnings.length, 2, "a quiet interval logs nothing");
      warning.report("rejected a 7-byte message");
      assert.equal(warnings[2], "rejected a 7-byte message", "after a quiet interval the next one is logged at once");
      warning.close();
      assert.equal(fake.pending, 0);
    } finally {
      raw.close();
      server.close();
    }
  });

  test("defect 27: an ACK to any copy of a CON settles it, late or duplicated", async ({ platform }) => {
    const server = await openEndpoint(platform, { ...FAST, ackTimeoutMs: 60, ackRandomFactor: 1, maxRetransmit: 4 });
    const raw = await openRawPeer(platform);
    let observer: Observer | undefined;
    server.setHandler((exchange) => {
      observer = exchange.acceptObserve();
      exchange.respond({ code: ResponseCode.Content });
    });
    try {
      const register = createMessage(MessageType.Confirmable, Method.GET, 0x5201, Uint8Array.of(8));
      addOption(register, OptionNumber.Observe, emptyBytes());
      raw.send(encodeMessage(register), peerOf(server));
      await raw.waitFor(1);
      const outcomes: NotifyOutcome[] = [];
      observer!.notify({ code: ResponseCode.Content, payload: text("n") }, { confirmable: true, onDone: (o) => outcomes.push(o) });
      // The ACK of the first copy arrives only after the second copy went out, and twice.
      await raw.waitFor(3);
      const copies = raw.received.slice(1).map((r) => r.message!);
      assert.equal(copies[0]!.messageId, copies[1]!.messageId, "a retransmission reuses the message ID");
      const ack = encodeMessage(createMessage(MessageType.Acknowledgement, 0, copies[0]!.messageId));
      raw.send(ack, peerOf(server));
      raw.send(ack, peerOf(server));
      await roundTrip(raw, server, 0x5202);
      assert.equal(outcomes, ["acknowledged"]);
      assert.equal(server.load.pendingCons, 0);
      const settledAt = raw.received.length;
      await sleep(platform, 200);
      assert.equal(raw.received.length, settledAt, "no retransmission after the ACK");
      assert.equal(outcomes, ["acknowledged"], "no timeout afterwards");
      assert.equal(server.listObservers().length, 1);

      // A request: the piggybacked response to the first copy arrives after the retransmission, twice.
      const pending = outcome(server, { peer: peerOf(raw.socket), method: Method.GET, path: "/r" });
      const before = raw.received.length;
      await raw.waitFor(before + 2);
      const request = raw.received[before]!.message!;
      assert.equal(raw.received[before + 1]!.message!.messageId, request.messageId);
      const response = encodeMessage(createMessage(MessageType.Acknowledgement, ResponseCode.Content, request.messageId, request.token.slice()));
      raw.send(response, peerOf(server));
      raw.send(response, peerOf(server));
      assert.equal((await pending).response?.code, ResponseCode.Content);
      assert.equal(server.load.pendingCons, 0);
    } finally {
      raw.close();
      server.close();
    }
  });
});

async function openEndpointWithLog(platform: Parameters<typeof openEndpoint>[0], lines: string[]): Promise<CoapEndpoint> {
  const transport = new UdpTransport(platform.net);
  const log = new Logger({ writeLine: (line) => lines.push(line) }, platform.time, "warn");
  const endpoint = new Endpoint({ transport, time: platform.time, random: platform.random, parameters: { ...FAST, maxMessageSize: 128 }, log });
  await waitFor(platform, () => transport.localPort > 0, 2000, "port");
  return endpoint;
}

/** Time whose clock and timers move only when the test says so. */
class FakeTime implements Time {
  private now = 0;
  private timers: { at: number; callback: () => void; handle: object }[] = [];
  get pending(): number {
    return this.timers.length;
  }
  monotonicMs(): number {
    return this.now;
  }
  wallClockMs(): number {
    return this.now;
  }
  setWallClockMs(): void {}
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle = {};
    this.timers.push({ at: this.now + delayMs, callback, handle });
    return handle;
  }
  clearTimer(handle: TimerHandle | undefined): void {
    this.timers = this.timers.filter((t) => t.handle !== handle);
  }
  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= this.now);
      if (due.length === 0) return;
      this.timers = this.timers.filter((t) => t.at > this.now);
      for (const timer of due) timer.callback();
    }
  }
}
