import { decodeBlock, encodeBlock } from "../../modules/coap/block.js";
import { decodeMessage, encodeMessage, encodedSize } from "../../modules/coap/codec.js";
import { code, codeString, MessageType, OptionNumber } from "../../modules/coap/constants.js";
import { addOption, createMessage, decodeUint, encodeUint, getUriPath, setUriPath, utf8Decode, utf8Encode } from "../../modules/coap/message.js";
import { assert, suite } from "./harness.js";

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function reason(data: Uint8Array): string {
  const result = decodeMessage(data);
  return result.ok ? "ok" : result.reason;
}

export default suite("CoAP codec", (test) => {
  test("encodes the RFC 7252 example GET and decodes it back", () => {
    const message = createMessage(MessageType.Confirmable, 1, 0x7d34, bytes(0x20));
    setUriPath(message, "/temperature");
    const encoded = encodeMessage(message);
    assert.equal(encoded.subarray(0, 5), bytes(0x41, 0x01, 0x7d, 0x34, 0x20));
    assert.equal(encoded[5], 0xbb); // delta 11 (Uri-Path), length 11
    const decoded = decodeMessage(encoded);
    assert.ok(decoded.ok, "decodes");
    if (!decoded.ok) return;
    assert.equal(decoded.message.messageId, 0x7d34);
    assert.equal(getUriPath(decoded.message), ["temperature"]);
    assert.equal(encodedSize(message), encoded.length);
  });

  test("option deltas and lengths use the extended forms", () => {
    const message = createMessage(MessageType.NonConfirmable, code(2, 5), 1, bytes(1, 2, 3, 4, 5, 6, 7, 8));
    addOption(message, 12, encodeUint(0));
    addOption(message, 258, bytes(2)); // delta 246 → one extended byte
    addOption(message, 2000, new Uint8Array(300)); // delta 1742, length 300 → two extended bytes each
    addOption(message, 11, new Uint8Array(13).fill(0x61)); // length 13 → one extended byte
    message.payload = utf8Encode("héllo");
    const decoded = decodeMessage(encodeMessage(message));
    assert.ok(decoded.ok, "decodes");
    if (!decoded.ok) return;
    assert.equal(decoded.message.options.map((o) => o.number), [11, 12, 258, 2000]);
    assert.equal(decoded.message.options[3]!.value.length, 300);
    assert.equal(utf8Decode(decoded.message.payload), "héllo");
    assert.equal(decoded.message.token, bytes(1, 2, 3, 4, 5, 6, 7, 8));
  });

  test("rejects malformed datagrams with a reason and header fields", () => {
    assert.equal(reason(bytes(0x40, 1, 0)), "datagram of 3 bytes is shorter than a CoAP header");
    assert.equal(reason(bytes(0x80, 1, 0, 1)), "unsupported CoAP version 2");
    assert.equal(reason(bytes(0x49, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9)), "reserved token length 9");
    assert.equal(reason(bytes(0x4f, 1, 0, 1)), "reserved token length 15");
    assert.equal(reason(bytes(0x42, 1, 0, 1, 9)), "token runs past the end of the datagram");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0xb5, 0x61)), "option value runs past the end of the datagram");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0xd0)), "truncated option delta");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0xe0, 0x01)), "truncated option delta");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0x0d)), "truncated option length");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0xf1, 0)), "reserved option nibble 15");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0x1f)), "reserved option nibble 15");
    assert.equal(reason(bytes(0x40, 1, 0, 1, 0xff)), "payload marker followed by an empty payload");
    assert.equal(reason(bytes(0x41, 0, 0, 1, 7)), "empty message with token, options or payload");
    const result = decodeMessage(bytes(0x49, 1, 0x12, 0x34));
    assert.ok(!result.ok && result.messageId === 0x1234 && result.type === MessageType.Confirmable, "header fields kept for RST");
  });

  test("uint and block option values", () => {
    for (const value of [0, 1, 255, 256, 65535, 65536, 0xffffff, 0x1000000, 0xffffffff]) assert.equal(decodeUint(encodeUint(value)), value);
    assert.equal(encodeUint(0).length, 0);
    assert.equal(encodeUint(256), bytes(1, 0));
    assert.equal(decodeBlock(encodeBlock({ num: 5, more: true, szx: 6 })), { num: 5, more: true, szx: 6 });
    assert.equal(decodeBlock(encodeBlock({ num: 0xfffff, more: false, szx: 0 })), { num: 0xfffff, more: false, szx: 0 });
    assert.equal(decodeBlock(bytes(0x07)), undefined, "SZX 7 is reserved");
    assert.equal(decodeBlock(bytes(1, 2, 3, 4)), undefined, "more than 3 bytes");
  });

  test("code strings and encoder guards", () => {
    assert.equal(codeString(code(2, 5)), "2.05");
    assert.equal(codeString(code(4, 13)), "4.13");
    const message = createMessage(MessageType.Confirmable, 1, 1, new Uint8Array(9));
    assert.throws(() => encodeMessage(message), "token of 9 bytes");
    assert.throws(() => encodeMessage(createMessage(MessageType.Confirmable, 1, 70000)), "message ID");
    const unsorted = createMessage(MessageType.Confirmable, 1, 1);
    unsorted.options.push({ number: 11, value: bytes(0x61) }, { number: OptionNumber.IfMatch, value: bytes() });
    assert.throws(() => encodeMessage(unsorted), "not sorted");
  });

  test("UTF-8 helpers round-trip and replace malformed input", () => {
    const text = "a€𝄞ü";
    assert.equal(utf8Decode(utf8Encode(text)), text);
    assert.equal(utf8Decode(bytes(0xc3)), "\ufffd");
    assert.equal(utf8Decode(bytes(0xed, 0xa0, 0x80)), "\ufffd", "surrogates are not valid UTF-8");
  });
});
