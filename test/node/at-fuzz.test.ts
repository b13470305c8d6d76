import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { isHalError } from "../../hal/errors.js";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import { AsyncMutex, type Release } from "../../hal/mutex.js";
import type { SerialOptions } from "../../hal/serial.js";
import { AtChannel, type AtCallback, type AtCommand } from "../../modules/at/at-channel.js";
import { AtError } from "../../modules/at/at-errors.js";
import { AtParser, type FrameHeader } from "../../modules/at/at-parser.js";
import { ESP8266_PROFILE } from "../../modules/at/esp8266.js";
import { LinkQueue } from "../../modules/at/link-queue.js";
import { MODEM_LINK_DEFAULTS } from "../../modules/at/modem-link.js";
import { MODEM_KINDS, MODEM_NET_DEFAULTS, type ModemKind } from "../../modules/at/modem-net.js";
import { SIM900A_PROFILE } from "../../modules/at/sim900a.js";
import { modemRig, SERVER, type ModemRig } from "../conformance/at-modem-rig.js";
import { bytes } from "../conformance/at-scripted-modem.js";
import { chunks, fuzzStream } from "./at-fuzz-streams.js";

/**
 * Issue 11, acceptance 3: 100,000 fuzz streams into the AT parser, and
 * 100,000 more into a live ModemNet (channel and adaptor) on the scripted
 * modem while commands run. Nothing throws out of the engine, every buffer and
 * queue stays within its bound, every command ends, and valid traffic still
 * works afterwards. Seeded: a failure names the stream that caused it.
 */
const PARSER_STREAMS = Number(process.env.AT_FUZZ_PARSER_STREAMS ?? 100000);
const LIVE_STREAMS_PER_KIND = Number(process.env.AT_FUZZ_LIVE_STREAMS ?? 34000);
const summary = { parserStreams: 0, parserBytes: 0, midFrame: 0, parserDropped: 0, parserRejected: 0, parserFrames: 0, liveStreams: 0, liveBytes: 0, noiseLines: 0, liveRejected: 0, commands: 0, recoveries: 0 };
const started = Date.now();

function hexOf(data: Uint8Array): string {
  return Buffer.from(data).toString("hex");
}

afterAll(() => {
  const s = summary;
  process.stderr.write(
    `at-fuzz: parser ${s.parserStreams} streams / ${s.parserBytes} bytes (${s.parserFrames} frames, ${s.parserRejected} frames rejected, ${s.parserDropped} lines dropped, ${s.midFrame} ended mid-frame); ` +
      `live ${s.liveStreams} streams / ${s.liveBytes} bytes (${s.commands} commands, ${s.noiseLines} noise lines counted, ${s.liveRejected} frames rejected, ${s.recoveries} recoveries); ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
});

type Event = string | { link: number; data: string; remote: string | undefined };

describe("AT parser fuzzing", () => {
  test(`${PARSER_STREAMS} mutated and random byte streams: no throw, buffers within bounds, resynchronises after each`, () => {
    const events: Event[] = [];
    let lines = 0;
    const parser = new AtParser({
      onLine: (line) => void events.push(line),
      onPrompt: () => void events.push(">"),
      onFrame: (header: FrameHeader, data) => void events.push({ link: header.link, data: hexOf(data), remote: header.remote ? `${header.remote.address}:${header.remote.port}` : undefined }),
    });
    for (const frame of [...ESP8266_PROFILE.frames, ...SIM900A_PROFILE.frames]) parser.addFrame(frame);
    const maxLine = parser.buffers.maxLine;
    expect(maxLine).toBe(256);
    const frameBound = Math.max(ESP8266_PROFILE.frames[0]!.maxLength, SIM900A_PROFILE.frames[0]!.maxLength);
    const resync = bytes("\r\n+NSONMI:1,5\r\n+IPD,1,5,1.2.3.4,5683:hello\r\n+RECEIVE,2,3:\r\nabc\r\nOK\r\n");
    const expected: Event[] = ["+NSONMI:1,5", { link: 1, data: hexOf(bytes("hello")), remote: "1.2.3.4:5683" }, { link: 2, data: hexOf(bytes("abc")), remote: undefined }, "OK"];
    const random = new SeededRandom(0x11_03);
    let maxSeenLine = 0;
    let maxSeenFrame = 0;
    const check = (index: number, stream: Uint8Array): void => {
      const buffers = parser.buffers;
      maxSeenLine = Math.max(maxSeenLine, buffers.line);
      maxSeenFrame = Math.max(maxSeenFrame, buffers.frameLength);
      if (buffers.line > buffers.maxLine || buffers.frameFilled > buffers.frameLength || buffers.frameLength > buffers.maxFrame || buffers.maxFrame > frameBound) {
        throw new Error(`stream ${index} (${hexOf(stream)}): buffers out of bounds ${JSON.stringify(buffers)}`);
      }
    };
    for (let index = 0; index < PARSER_STREAMS; index++) {
      const stream = fuzzStream(random, { kind: "all", maxNoise: 128, maxFragments: 6, lossRate: 0.02, maxRun: 600 });
      summary.parserBytes += stream.length;
      for (const chunk of chunks(random, stream)) {
        try {
          parser.feed(chunk);
        } catch (error) {
          throw new Error(`stream ${index} (${hexOf(stream)}) threw: ${(error as Error).stack ?? String(error)}`);
        }
        check(index, stream);
      }
      for (const event of events) {
        if (typeof event === "string") {
          lines++;
          if (event.length > maxLine) throw new Error(`stream ${index}: a line of ${event.length} bytes escaped`);
        }
      }
      // A frame is read by length, never by line ends: one cut short holds the parser until its bytes are in
      // (the engine resets the parser when it recovers the module). Complete it, then expect clean parsing.
      const left = parser.buffers;
      if (left.inFrame) {
        summary.midFrame++;
        parser.feed(new Uint8Array(left.frameLength - left.frameFilled).fill(0x78));
      }
      events.length = 0;
      for (const chunk of chunks(random, resync)) parser.feed(chunk);
      // The resynchronising CR LF may first flush a partial line, or end a zero-length +RECEIVE frame waiting for its CR LF.
      const tail = events.length === expected.length + 1 ? events.slice(1) : events;
      if (JSON.stringify(tail) !== JSON.stringify(expected)) {
        throw new Error(`stream ${index} (${hexOf(stream)}): no resynchronisation, got ${JSON.stringify(events)}`);
      }
      events.length = 0;
      summary.parserStreams++;
    }
    const stats = parser.stats;
    summary.parserDropped = stats.droppedLines;
    summary.parserRejected = stats.rejectedFrames;
    summary.parserFrames = stats.frames;
    expect(maxSeenLine).toBeLessThanOrEqual(maxLine);
    expect(maxSeenFrame).toBeLessThanOrEqual(frameBound);
    // The streams reach every path: long lines, rejected and accepted frames, frames cut short.
    expect(lines).toBeGreaterThan(PARSER_STREAMS);
    expect(stats.droppedLines).toBeGreaterThan(1000);
    expect(stats.rejectedFrames).toBeGreaterThan(1000);
    expect(stats.frames).toBeGreaterThan(2 * PARSER_STREAMS);
    expect(summary.midFrame).toBeGreaterThan(100);
  }, 120000);
});

/** Watches every AT command, mutex and link receive queue of the engine by wrapping their prototypes for this file. */
const watch = {
  issued: 0,
  ended: 0,
  endedTwice: 0,
  untyped: 0,
  outstanding: new Set<{ text: string; at: number }>(),
  failures: new Map<string, number>(),
  maxWaiting: 0,
  maxReceiveQueue: 0,
  clock: () => 0,
};
const originals = { execute: AtChannel.prototype.execute, lock: AsyncMutex.prototype.lock, push: LinkQueue.prototype.push };

beforeAll(() => {
  AtChannel.prototype.execute = function (this: AtChannel, command: AtCommand, callback: AtCallback): void {
    const record = { text: command.text, at: watch.clock() };
    let calls = 0;
    watch.issued++;
    watch.outstanding.add(record);
    originals.execute.call(this, command, (error, response) => {
      if (++calls > 1) watch.endedTwice++;
      else watch.ended++;
      watch.outstanding.delete(record);
      if (error !== undefined && !(error instanceof AtError)) watch.untyped++;
      const key = error ? error.failure : "ok";
      watch.failures.set(key, (watch.failures.get(key) ?? 0) + 1);
      callback(error, response);
    });
  };
  AsyncMutex.prototype.lock = function (this: AsyncMutex, critical: (release: Release) => void): void {
    try {
      originals.lock.call(this, critical);
    } finally {
      watch.maxWaiting = Math.max(watch.maxWaiting, this.waiting);
    }
  };
  LinkQueue.prototype.push = function (this: LinkQueue, ...args: Parameters<LinkQueue["push"]>): void {
    originals.push.apply(this, args);
    watch.maxReceiveQueue = Math.max(watch.maxReceiveQueue, this.length);
  };
});

afterAll(() => {
  AtChannel.prototype.execute = originals.execute;
  AsyncMutex.prototype.lock = originals.lock;
  LinkQueue.prototype.push = originals.push;
});

/** Advances the virtual clock until `condition`; a failure tells what the engine and the module were doing. */
async function settle(rig: ModemRig, condition: () => boolean, limitMs: number, what: string): Promise<void> {
  if (await rig.clock.advanceUntil(condition, limitMs, 10)) return;
  const outstanding = [...watch.outstanding].map((command) => `${command.text} since ${command.at} ms`);
  throw new Error(
    `within ${limitMs} virtual ms: ${what}; state ${rig.net.state}, module links [${[...rig.modem.links.keys()].join(",")}], outstanding [${outstanding.join("; ")}]\n` +
      rig.logLines.slice(-40).join("\n"),
  );
}

async function liveFuzz(kind: ModemKind, seed: number): Promise<void> {
  const rig = modemRig(kind);
  watch.clock = () => rig.clock.nowMs;
  let port: SerialOptions | undefined;
  const open = rig.modem.open.bind(rig.modem);
  rig.modem.open = (options) => {
    port = options;
    return open(options);
  };
  await rig.up(60000);
  const { endpoint, received, errors } = rig.endpoint();
  const random = new SeededRandom(seed);
  let resolves = 0;
  let resolved = 0;
  let sendThrows = 0;
  const startIssued = watch.issued;
  for (let index = 0; index < LIVE_STREAMS_PER_KIND; index++) {
    // Commands running meanwhile: sends (CIPSEND / NSOST, and the link opens), DNS, data from the network.
    if (index % 6 === 0) {
      try {
        endpoint.send(bytes(`up${index}`), SERVER);
      } catch (error) {
        if (!isHalError(error)) throw error;
        sendThrows++;
      }
    }
    if (index % 40 === 0 && kind !== "bc95") {
      resolves++;
      rig.net.resolve("example.com", (error, address) => {
        resolved++;
        if (error && !isHalError(error)) throw new Error(`resolve failed untyped: ${String(error)}`);
        if (!error && !address) throw new Error("resolve gave neither error nor address");
      });
    }
    if (index % 10 === 5 && rig.net.state === "ready") {
      const link = [...rig.modem.links.keys()][0];
      if (link !== undefined) rig.modem.deliver(link, bytes(`down${index}`), SERVER);
    }
    const stream = fuzzStream(random, { kind, maxNoise: 48, maxFragments: 3, lossRate: 0.002, maxRun: Number(process.env.AT_FUZZ_LIVE_RUN ?? 400) });
    summary.liveBytes += stream.length;
    const parts = chunks(random, stream);
    const cut = random.between(0, parts.length);
    const first = parts.slice(0, cut);
    const second = parts.slice(cut);
    for (const [delay, group] of [[random.between(0, 3), first], [random.between(2, 8), second]] as const) {
      rig.modem.time.setTimer(delay, () => {
        for (const chunk of group) if (port && rig.modem.isOpen) port.onReceive(chunk.slice());
      });
    }
    await rig.clock.advance(random.between(1, 12));
    summary.liveStreams++;
  }
  // The noise stops (its last bytes are due within 8 ms); the engine settles: every command ends and the module is (again) up.
  await rig.clock.advance(20);
  await settle(rig, () => rig.net.state === "ready" && watch.outstanding.size === 0, 600000, `${kind}: ready with no command outstanding`);
  expect(resolved).toBe(resolves);
  expect(watch.untyped).toBe(0);
  expect(watch.endedTwice).toBe(0);
  expect(watch.ended).toBe(watch.issued);
  expect(watch.maxWaiting).toBeLessThanOrEqual(MODEM_NET_DEFAULTS.commandQueue);
  expect(watch.maxReceiveQueue).toBeLessThanOrEqual(MODEM_LINK_DEFAULTS.receiveDepth);
  expect(errors.every((error) => isHalError(error))).toBe(true);
  const failed = rig.logLines.filter((line) => line.indexOf("AT input handling failed") >= 0 || line.indexOf("AT callback threw") >= 0);
  expect(failed).toEqual([]);
  // A normal send and receive still work.
  const marker = bytes(`after the fuzz (${kind})`);
  const sentBefore = rig.modem.sent.length;
  endpoint.send(marker, SERVER);
  await settle(rig, () => rig.modem.sent.slice(sentBefore).some((sent) => hexOf(sent.data) === hexOf(marker)), 60000, `${kind}: the send after the fuzz`);
  const link = [...rig.modem.links.entries()].find(([, scripted]) => kind === "bc95" || (scripted.remote.address === SERVER.address && scripted.remote.port === SERVER.port))?.[0];
  expect(link).toBeDefined();
  const receivedBefore = received.length;
  rig.modem.deliver(link!, bytes("downlink after the fuzz"), SERVER);
  await settle(rig, () => received.slice(receivedBefore).some((item) => hexOf(item.data) === hexOf(bytes("downlink after the fuzz"))), 10000, `${kind}: the receive after the fuzz`);
  const stats = rig.net.stats;
  summary.noiseLines += stats.noiseLines;
  summary.liveRejected += stats.rejectedFrames;
  summary.commands += watch.issued - startIssued;
  summary.recoveries += rig.states.filter((state) => state.state === "recovering").length;
  process.stderr.write(
    `at-fuzz ${kind}: ${LIVE_STREAMS_PER_KIND} streams, ${watch.issued - startIssued} commands (${JSON.stringify(Object.fromEntries(watch.failures))}), ` +
      `${rig.states.filter((state) => state.state === "recovering").length} recoveries, ${rig.modem.sent.length} datagrams sent, ${received.length} received, ${sendThrows} sends refused, ` +
      `max queue ${watch.maxWaiting}/${MODEM_NET_DEFAULTS.commandQueue}, max receive queue ${watch.maxReceiveQueue}/${MODEM_LINK_DEFAULTS.receiveDepth}, ${rig.clock.nowMs} virtual ms\n`,
  );
  await rig.stop();
}

describe("AT engine fuzzing through the scripted modem", () => {
  let seed = 0x11_30;
  for (const kind of MODEM_KINDS) {
    const kindSeed = seed++;
    test(`${kind}: ${LIVE_STREAMS_PER_KIND} streams while commands run: no throw, every command ends, queues within bounds, send and receive work after`, async () => {
      watch.issued = watch.ended = watch.endedTwice = watch.untyped = watch.maxWaiting = watch.maxReceiveQueue = 0;
      watch.outstanding.clear();
      watch.failures.clear();
      await liveFuzz(kind, kindSeed);
    }, 120000);
  }
});
