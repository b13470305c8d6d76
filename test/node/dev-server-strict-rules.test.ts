import { describe, expect, test } from "@jest/globals";
import { encodeMessage } from "../../modules/coap/codec.js";
import { ContentFormat, MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { addOption, createMessage, encodeUint, setUintOption, setUriPath, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";
import { DEFAULT_COAP_PARAMETERS, exchangeLifetimeMs } from "../../modules/coap/params.js";
import { checkDatagram } from "../../tools/dev-server/strict/coap-syntax-rules.js";
import { ExchangeTracker } from "../../tools/dev-server/strict/exchange-tracker.js";
import { checkObjectLinks, parseStrictLinkFormat } from "../../tools/dev-server/strict/link-format-rules.js";
import { checkDeregister, checkRegister, checkUpdate } from "../../tools/dev-server/strict/registration-rules.js";

const peer = { address: "127.0.0.1", port: 40000 };
const LIFETIME = exchangeLifetimeMs(DEFAULT_COAP_PARAMETERS);
const bytes = (text: string) => utf8Encode(text);

function message(type: MessageType, code: number, messageId: number, token: number[], build?: (m: CoapMessage) => void): CoapMessage {
  const m = createMessage(type, code, messageId, Uint8Array.from(token));
  build?.(m);
  return m;
}

/** A tracker on a hand-driven clock, fed as the server's transport would feed it. */
function tracker() {
  const clock = { now: 0, monotonicMs: () => clock.now };
  const t = new ExchangeTracker(LIFETIME, clock);
  return {
    clock,
    out: (m: CoapMessage) => t.outbound(m, peer),
    in: (m: CoapMessage) => t.inbound(m, encodeMessage(m), peer).map((p) => p.rule),
  };
}

const observeGet = (mid: number, token: number[], observe = 0) =>
  message(MessageType.Confirmable, Method.GET, mid, token, (m) => {
    setUintOption(m, OptionNumber.Observe, observe);
    setUriPath(m, "/3/0/9");
  });
const content = (type: MessageType, mid: number, token: number[], observe?: number, code: number = ResponseCode.Content) =>
  message(type, code, mid, token, (m) => {
    if (observe !== undefined) setUintOption(m, OptionNumber.Observe, observe);
    setUintOption(m, OptionNumber.ContentFormat, ContentFormat.TextPlain);
    m.payload = bytes("1");
  });

describe("exchange tracker", () => {
  test("a request reusing the token of an unanswered request is a violation; after the answer it is not", () => {
    const t = tracker();
    const post = (mid: number) => message(MessageType.Confirmable, Method.POST, mid, [1, 2], (m) => setUriPath(m, "/rd/1"));
    expect(t.in(post(1))).toEqual([]);
    expect(t.in(post(2))).toEqual(["RFC 7252 §5.3.1"]);
    t.out(message(MessageType.Acknowledgement, ResponseCode.Changed, 2, [1, 2]));
    expect(t.in(post(3))).toEqual([]);
  });

  test("a Message ID may be reused after EXCHANGE_LIFETIME", () => {
    const t = tracker();
    expect(t.in(message(MessageType.NonConfirmable, Method.POST, 7, [1]))).toEqual([]);
    expect(t.in(message(MessageType.NonConfirmable, Method.POST, 7, [2]))).toEqual(["RFC 7252 §4.4"]);
    t.clock.now += LIFETIME + 1;
    expect(t.in(message(MessageType.NonConfirmable, Method.POST, 7, [3]))).toEqual([]);
  });

  test("Observe freshness: the 128 s rule and the 24-bit wrap-around", () => {
    const t = tracker();
    t.out(observeGet(100, [9]));
    expect(t.in(content(MessageType.Acknowledgement, 100, [9], 0xfffffe))).toEqual([]);
    expect(t.in(content(MessageType.NonConfirmable, 1, [9], 3))).toEqual([]); // wrapped
    expect(t.in(content(MessageType.NonConfirmable, 2, [9], 2))).toEqual(["RFC 7641 §4.4"]);
    t.clock.now += 129000;
    expect(t.in(content(MessageType.NonConfirmable, 3, [9], 1))).toEqual([]);
  });

  test("an empty ACK, then a separate response, then notifications: no violation", () => {
    const t = tracker();
    t.out(observeGet(200, [8]));
    expect(t.in(message(MessageType.Acknowledgement, 0, 200, []))).toEqual([]);
    expect(t.in(content(MessageType.Confirmable, 10, [8], 1))).toEqual([]);
    expect(t.in(content(MessageType.Confirmable, 11, [8], 2))).toEqual([]);
  });

  test("notifications after an error notification, a 2.xx notification without Observe, a 2.04 notification", () => {
    const t = tracker();
    t.out(observeGet(300, [7]));
    expect(t.in(content(MessageType.Acknowledgement, 300, [7], 1))).toEqual([]);
    expect(t.in(content(MessageType.NonConfirmable, 20, [7]))).toEqual(["RFC 7641 §4.2"]);
    expect(t.in(content(MessageType.NonConfirmable, 21, [7], 2, ResponseCode.Changed))).toEqual(["LwM2M TS §6.4 / RFC 7641 §4.2"]);
    expect(t.in(message(MessageType.NonConfirmable, ResponseCode.NotFound, 22, [7]))).toEqual([]);
    expect(t.in(content(MessageType.NonConfirmable, 23, [7], 3))).toEqual(["RFC 7641 §3.2 / §4.2"]);
  });

  test("notifications still on their way while the server deregisters are not counted", () => {
    const t = tracker();
    t.out(observeGet(400, [6]));
    expect(t.in(content(MessageType.Acknowledgement, 400, [6], 1))).toEqual([]);
    t.out(observeGet(401, [6], 1));
    expect(t.in(content(MessageType.Confirmable, 30, [6], 2))).toEqual([]);
    expect(t.in(content(MessageType.Acknowledgement, 401, [6]))).toEqual([]);
  });

  test("a notification after the server rejected one with RST is not counted", () => {
    const t = tracker();
    t.out(observeGet(500, [5]));
    t.in(content(MessageType.Acknowledgement, 500, [5], 1));
    expect(t.in(content(MessageType.Confirmable, 40, [5], 2))).toEqual([]);
    t.out(message(MessageType.Reset, 0, 40, []));
    expect(t.in(content(MessageType.Confirmable, 41, [5], 3))).toEqual([]);
  });

  test("Observe in the response to a plain GET; a piggybacked response with the wrong token; an ACK matching nothing; a second response", () => {
    const t = tracker();
    t.out(message(MessageType.Confirmable, Method.GET, 600, [4], (m) => setUriPath(m, "/3/0")));
    expect(t.in(content(MessageType.Acknowledgement, 600, [4], 1))).toEqual(["RFC 7641 §4.1"]);
    expect(t.in(content(MessageType.Confirmable, 50, [4]))).toEqual(["RFC 7252 §5.2"]);
    t.out(message(MessageType.Confirmable, Method.GET, 601, [3], (m) => setUriPath(m, "/3/0")));
    expect(t.in(content(MessageType.Acknowledgement, 601, [2]))).toEqual(["RFC 7252 §5.3.2"]);
    expect(t.in(message(MessageType.Acknowledgement, 0, 9999, []))).toEqual(["RFC 7252 §4.2"]);
    const ack = content(MessageType.Acknowledgement, 601, [3]);
    expect(t.in(ack)).toEqual(["RFC 7252 §4.2"]); // a different second ACK for MID 601
  });

  test("a duplicate ACK (the client answering a retransmission again) is not counted twice", () => {
    const t = tracker();
    const get = message(MessageType.Confirmable, Method.GET, 700, [1], (m) => {
      setUriPath(m, "/3/0/0");
      setUintOption(m, OptionNumber.Accept, ContentFormat.TextPlain);
    });
    t.out(get);
    t.out(get);
    const answer = content(MessageType.Acknowledgement, 700, [1]);
    expect(t.in(answer)).toEqual([]);
    expect(t.in(answer)).toEqual([]);
  });
});

describe("CoAP syntax rules", () => {
  const rules = (bytes: Uint8Array) => checkDatagram(bytes).problems.map((p) => p.rule);
  test.each([
    ["a token length of 9", Uint8Array.of(0x49, 0x45, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9), "RFC 7252 §3"],
    ["an empty NON", encodeMessage(message(MessageType.NonConfirmable, 0, 1, [])), "RFC 7252 §4.3"],
    ["a Reset with a code", encodeMessage(message(MessageType.Reset, ResponseCode.Content, 1, [])), "RFC 7252 §4.2"],
    ["an empty message with a token", Uint8Array.of(0x41, 0x00, 0, 1, 7), "RFC 7252 §4.1"],
    ["Uri-Path in a response", encodeMessage(message(MessageType.Acknowledgement, ResponseCode.Content, 1, [], (m) => setUriPath(m, "/x"))), "RFC 7252 §5.10"],
    ["Location-Path in a request", encodeMessage(message(MessageType.Confirmable, Method.POST, 1, [], (m) => addOption(m, OptionNumber.LocationPath, bytes("rd")))), "RFC 7252 §5.10"],
    ["Observe in a POST", encodeMessage(message(MessageType.Confirmable, Method.POST, 1, [], (m) => addOption(m, OptionNumber.Observe, encodeUint(0)))), "RFC 7641 §2 / RFC 8132 §2.4"],
    ["a repeated Content-Format", encodeMessage(message(MessageType.Confirmable, Method.POST, 1, [], (m) => { addOption(m, 12, encodeUint(0)); addOption(m, 12, encodeUint(40)); })), "RFC 7252 §5.4.5"],
    ["an unknown critical option", encodeMessage(message(MessageType.Confirmable, Method.GET, 1, [], (m) => addOption(m, 9, bytes("x")))), "RFC 7252 §5.4.1"],
    ["a reserved code class", encodeMessage(message(MessageType.Confirmable, 0xe0, 1, [])), "RFC 7252 §12.1"],
    ["a payload marker without payload", Uint8Array.of(0x40, 0x02, 0, 1, 0xff), "RFC 7252 §3.1"],
  ])("%s is a violation", (_what, datagram, rule) => {
    expect(rules(datagram)).toContain(rule);
  });

  test("an ordinary request and response are clean", () => {
    const request = message(MessageType.Confirmable, Method.GET, 1, [1, 2], (m) => {
      setUriPath(m, "/3/0");
      setUintOption(m, OptionNumber.Accept, ContentFormat.LwM2mTlv);
    });
    expect(rules(encodeMessage(request))).toEqual([]);
    expect(rules(encodeMessage(content(MessageType.Acknowledgement, 1, [1, 2], 4)))).toEqual([]);
  });
});

describe("link-format and registration rules", () => {
  const linkRules = (text: string) => {
    const parsed = parseStrictLinkFormat(text);
    return [...parsed.problems, ...checkObjectLinks(parsed.links)].map((p) => `${p.rule}: ${p.message}`);
  };
  test.each([
    '</>;rt="oma.lwm2m";ct=112,</1/0>,</3/0>',
    '</>;rt="oma.lwm2m";ct="110 112",</1>;ver=1.1,</1/0>,</3/0>',
    '</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>',
    '</1/0>;title="a \\"quoted\\" title",</3/0>',
    "",
  ])("%j is clean", (text) => {
    expect(linkRules(text)).toEqual([]);
  });

  test.each([
    ["</>;rt=oma.lwm2m,</3/0>", "rt value must be quoted"],
    ['</>;rt="Oma.Lwm2m",</3/0>', "relation-types"],
    ['</lwm2m>;rt="oma.lwm2m",</1/0>', "under the root path /lwm2m"],
    ["</1/0>,</3/0>,", 'a "," must be followed by a link'],
    ['</>;rt="oma.lwm2m";ct=50,</3/0>', "not an LwM2M data format"],
    ["</21/0>", "OSCORE"],
    ["</3/00>", "is not </ObjectID>"],
    ["</3/65535>", "65535 is reserved"],
    ["</1>;ver=one", "ver must be a version"],
    ["</3/0>;ct=0;ct=40", 'attribute "ct" given more than once'],
    ['</3/0>;title="unterminated', "unterminated quoted value"],
    ["<3 0>", "is not a URI-Reference"],
  ])("%j breaks a rule", (text, expected) => {
    expect(linkRules(text).join("\n")).toContain(expected);
  });

  const request = (query: string[], payload = "", contentFormat?: number) => ({ query, payload: bytes(payload), contentFormat });
  test("Register, Update and De-register parameters", () => {
    expect(checkRegister(request(["ep=urn:imei:123", "lt=60", "lwm2m=1.1", "b=UQ", "sms=+15551234", "Q"], "</3/0>", 40))).toEqual([]);
    expect(checkUpdate(request(["lt=60", "b=U", "Q"]), "1.1")).toEqual([]);
    expect(checkUpdate(request(["Q"]), "1.0").map((p) => p.message)).toEqual([expect.stringContaining("LwM2M 1.1 and later")]);
    expect(checkUpdate(request(["lt=5"], "</3/0>"), "1.1").map((p) => p.message)).toEqual([expect.stringContaining("Content-Format 40")]);
    expect(checkUpdate(request(["sms=abc"]), "1.1").map((p) => p.message)).toEqual([expect.stringContaining("MSISDN")]);
    expect(checkDeregister(request(["lt=5"])).map((p) => p.rule)).toEqual(["LwM2M TS §6.2.3"]);
    expect(checkRegister({ query: ["ep=x"], payload: Uint8Array.of(0x3c, 0xff, 0x3e), contentFormat: 40 }).map((p) => p.message)).toEqual([expect.stringContaining("not UTF-8")]);
  });
});
