import { AtParser, type FrameHeader, type FrameRecognizer } from "../../modules/at/at-parser.js";
import { ESP8266_PROFILE } from "../../modules/at/esp8266.js";
import { SIM900A_PROFILE } from "../../modules/at/sim900a.js";
import { bytes, concat } from "./at-scripted-modem.js";
import { assert, suite } from "./harness.js";

type Event = string | { link: number; data: Uint8Array; remote?: string };

function recorder(frames: readonly FrameRecognizer[] = [], maxLine?: number): { parser: AtParser; events: Event[] } {
  const events: Event[] = [];
  const parser = new AtParser(
    {
      onLine: (line) => events.push(line),
      onPrompt: () => events.push(">"),
      onFrame: (header: FrameHeader, data) => events.push({ link: header.link, data, ...(header.remote ? { remote: `${header.remote.address}:${header.remote.port}` } : {}) }),
    },
    maxLine,
  );
  for (const frame of frames) parser.addFrame(frame);
  return { parser, events };
}

function feedBytewise(parser: AtParser, data: Uint8Array): void {
  for (const byte of data) parser.feed(Uint8Array.of(byte));
}

/** Deterministic pseudo-random bytes (no Math.random in a reproducible test). */
function noise(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

const PAYLOAD_WITH_OK = bytes("\r\nOK\r\n\x00\xff+IPD,1,2:x");

export default suite("at-parser", (test) => {
  test("frames lines on CR LF, CR or LF and skips empty lines", () => {
    const { parser, events } = recorder();
    parser.feed(bytes("\r\nOK\r\n\r\n\r\n+CREG: 0,1\rERROR\n"));
    assert.equal(events, ["OK", "+CREG: 0,1", "ERROR"]);
  });

  test("parses the same stream fed one byte at a time", () => {
    const { parser, events } = recorder(ESP8266_PROFILE.frames);
    const frame = concat(bytes("\r\n+IPD,0,12,10.0.0.1,5683:"), PAYLOAD_WITH_OK.subarray(0, 12));
    feedBytewise(parser, concat(bytes("AT\r\r\nOK\r\n"), frame, bytes("\r\n0,CLOSED\r\n")));
    assert.equal(events, ["AT", "OK", { link: 0, data: PAYLOAD_WITH_OK.subarray(0, 12), remote: "10.0.0.1:5683" }, "0,CLOSED"]);
  });

  test("reads an +IPD payload holding CR LF OK CR LF by length, not by lines", () => {
    const { parser, events } = recorder(ESP8266_PROFILE.frames);
    parser.feed(concat(bytes(`+IPD,3,${PAYLOAD_WITH_OK.length},1.2.3.4,5683:`), PAYLOAD_WITH_OK, bytes("\r\nSEND OK\r\n")));
    assert.equal(events, [{ link: 3, data: PAYLOAD_WITH_OK, remote: "1.2.3.4:5683" }, "SEND OK"]);
  });

  test("reads a SIM900A +RECEIVE frame after the CR LF that follows its colon", () => {
    const { parser, events } = recorder(SIM900A_PROFILE.frames);
    const data = bytes("\r\n\r\nOK\r\n");
    feedBytewise(parser, concat(bytes(`\r\n+RECEIVE,2,${data.length}:\r\n`), data, bytes("\r\n2, CLOSED\r\n")));
    assert.equal(events, [{ link: 2, data }, "2, CLOSED"]);
  });

  test("recognises a frame prefix after noise on the same line", () => {
    const { parser, events } = recorder(ESP8266_PROFILE.frames);
    parser.feed(concat(bytes("\x8c\x02garbage+IPD,1,3,1.2.3.4,99:abc"), bytes("OK\r\n")));
    assert.equal(events, [{ link: 1, data: bytes("abc"), remote: "1.2.3.4:99" }, "OK"]);
  });

  test("emits the data prompt with or without its trailing space", () => {
    const { parser, events } = recorder();
    parser.feed(bytes("\r\nOK\r\n> "));
    parser.feed(bytes(">"));
    parser.feed(bytes("\r\nSEND OK\r\n"));
    assert.equal(events, ["OK", ">", ">", "SEND OK"]);
  });

  test("drops an over-long line as noise and counts it", () => {
    const { parser, events } = recorder([], 16);
    parser.feed(bytes(`${"x".repeat(40)}\r\nOK\r\n`));
    assert.equal(events, ["OK"]);
    assert.equal(parser.stats.droppedLines, 1);
  });

  test("rejects a frame header announcing more than the maximum and resynchronises", () => {
    const { parser, events } = recorder(ESP8266_PROFILE.frames);
    parser.feed(bytes("+IPD,0,99999,1.2.3.4,5683:junk\r\nOK\r\n+IPD,0,1,1.2.3.4,5683:z"));
    assert.equal(events, ["OK", { link: 0, data: bytes("z"), remote: "1.2.3.4:5683" }]);
    assert.equal(parser.stats.rejectedFrames, 1);
  });

  test("a malformed frame header is noise, not a frame", () => {
    const { parser, events } = recorder(ESP8266_PROFILE.frames);
    parser.feed(bytes("+IPD,x,y:\r\n+CIFSR:STAMAC,\"18:fe:34:12:34:56\"\r\n"));
    assert.equal(events, ['+CIFSR:STAMAC,"18:fe:34:12:34:56"']);
    assert.equal(parser.stats.rejectedFrames, 1);
  });

  test("a zero-length frame ends at its colon", () => {
    const { parser, events } = recorder(ESP8266_PROFILE.frames);
    parser.feed(bytes("+IPD,4,0,1.2.3.4,1:OK\r\n"));
    assert.equal(events, [{ link: 4, data: new Uint8Array(0), remote: "1.2.3.4:1" }, "OK"]);
  });

  test("a frame header is looked for in the last 64 bytes before a colon only, so a noise line full of colons costs linear time", () => {
    const looked: number[] = [];
    const esp = ESP8266_PROFILE.frames[0]!;
    const { parser, events } = recorder([{ ...esp, parseHeader: (fields) => (looked.push(fields.length), esp.parseHeader(fields)) }]);
    const far = `+IPD,${"x".repeat(100)}:${":".repeat(50)}`;
    parser.feed(bytes(`${far}\r\n`));
    parser.feed(bytes(`${":".repeat(200)}+IPD,1,3,1.2.3.4,99:abc\r\nOK\r\n`));
    assert.ok(looked.every((length) => length <= 64), `headers of ${looked.join(", ")} bytes were parsed`);
    assert.equal(events, [far, { link: 1, data: bytes("abc"), remote: "1.2.3.4:99" }, "OK"]);
  });

  test("fuzz: random streams never throw and keep every buffer in bound", () => {
    const frames = [...ESP8266_PROFILE.frames, ...SIM900A_PROFILE.frames];
    const { parser, events } = recorder(frames, 64);
    let maxLine = 0;
    let maxFrame = 0;
    for (let round = 0; round < 300; round++) {
      const chunk = noise(round + 1, 200);
      // Seed some structure so frames and prompts actually occur.
      if (round % 3 === 0) chunk.set(bytes("+IPD,1,5,1.2.3.4,7:"), round % 150);
      if (round % 5 === 0) chunk.set(bytes("\r\n+RECEIVE,0,3:\r\n"), (round * 7) % 150);
      for (let offset = 0; offset < chunk.length; offset += 1 + (round % 13)) parser.feed(chunk.subarray(offset, offset + 1 + (round % 13)));
      for (const event of events) {
        if (typeof event === "string") maxLine = Math.max(maxLine, event.length);
        else maxFrame = Math.max(maxFrame, event.data.length);
      }
      events.length = 0;
    }
    assert.ok(maxLine <= 64, `a line of ${maxLine} bytes escaped the 64-byte bound`);
    assert.ok(maxFrame <= 2048, `a frame of ${maxFrame} bytes escaped the bound`);
    parser.reset();
    parser.feed(bytes("\r\nOK\r\n"));
    assert.equal(events, ["OK"]);
  });
});
