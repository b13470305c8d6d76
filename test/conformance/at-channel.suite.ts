import { Logger } from "../../hal/log.js";
import { AsyncMutex } from "../../hal/mutex.js";
import { AtChannel, type AtResponse } from "../../modules/at/at-channel.js";
import type { AtError } from "../../modules/at/at-errors.js";
import { bytes } from "./at-scripted-modem.js";
import { assert, suite } from "./harness.js";
import { VirtualClock, VirtualTime } from "./virtual-platform.js";

interface Outcome {
  error: AtError | undefined;
  response: AtResponse;
}

function rig(maxWaiters = 8) {
  const clock = new VirtualClock();
  const time = new VirtualTime(clock);
  const logLines: string[] = [];
  const written: string[] = [];
  const channel = new AtChannel({
    time,
    log: new Logger({ writeLine: (line) => void logLines.push(line) }, time, "debug"),
    mutex: new AsyncMutex("at", maxWaiters),
    defaultTimeoutMs: 1000,
    busyPrefix: "busy ",
    busyPauseMs: 100,
  });
  channel.attach((data) => written.push(String.fromCharCode(...data)));
  const outcomes: Outcome[] = [];
  const record = (error: AtError | undefined, response: AtResponse) => void outcomes.push({ error, response });
  const module = (text: string) => channel.feed(bytes(text));
  return { clock, time, channel, written, outcomes, record, module, logLines };
}

export default suite("at-channel", (test) => {
  test("collects intermediate lines by prefix and ends on OK", () => {
    const { channel, written, outcomes, record, module } = rig();
    channel.execute({ text: "AT+CIFSR", collect: ["+CIFSR:"] }, record);
    assert.equal(written, ["AT+CIFSR\r\n"]);
    module('\r\n+CIFSR:STAIP,"1.2.3.4"\r\n+CIFSR:STAMAC,"aa"\r\n\r\nOK\r\n');
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.error, undefined);
    assert.equal(outcomes[0]!.response, { lines: ['+CIFSR:STAIP,"1.2.3.4"', '+CIFSR:STAMAC,"aa"'], final: "OK" });
  });

  test("ignores the echo of the command just sent", () => {
    const { channel, outcomes, record, module } = rig();
    channel.execute({ text: "AT+CWMODE=1" }, record);
    module("AT+CWMODE=1\r\r\n\r\nOK\r\n");
    assert.equal(outcomes[0]!.error, undefined);
    assert.equal(channel.stats.noiseLines, 0);
  });

  test("ERROR and +CME ERROR fail only that command, with the final line", () => {
    const { channel, outcomes, record, module } = rig();
    channel.execute({ text: "AT+CPIN?" }, record);
    channel.execute({ text: "AT" }, record);
    module("\r\n+CME ERROR: 10\r\n");
    module("\r\nOK\r\n");
    assert.equal(outcomes[0]!.error?.failure, "error");
    assert.equal(outcomes[0]!.error?.final, "+CME ERROR: 10");
    assert.equal(outcomes[1]!.error, undefined);
  });

  test("custom finals: SHUT OK, a later n, CONNECT OK behind OK, an address line without OK", () => {
    const { channel, outcomes, record, module } = rig();
    channel.execute({ text: "AT+CIPSHUT", final: (line) => (line === "SHUT OK" ? "ok" : undefined) }, record);
    module("\r\nSHUT OK\r\n");
    channel.execute({ text: 'AT+CIPSTART=0,"UDP","1.2.3.4","5683"', collect: (line) => line === "OK", final: (line) => (line === "0, CONNECT OK" ? "ok" : line === "0, CONNECT FAIL" ? "error" : undefined) }, record);
    module("\r\nOK\r\n");
    assert.equal(outcomes.length, 1, "OK is not the final of CIPSTART");
    module("\r\n0, CONNECT OK\r\n");
    channel.execute({ text: "AT+CIFSR", final: (line) => (/^\d+\.\d+\.\d+\.\d+$/.test(line) ? "ok" : undefined) }, record);
    module("\r\n10.64.12.7\r\n");
    assert.equal(outcomes.map((outcome) => [outcome.error?.failure, outcome.response.final]), [[undefined, "SHUT OK"], [undefined, "0, CONNECT OK"], [undefined, "10.64.12.7"]]);
  });

  test("writes the payload after the data prompt and logs only its length", () => {
    const { channel, written, outcomes, record, module, logLines } = rig();
    const payload = bytes("secret\r\nOK\r\n");
    channel.execute({ text: `AT+CIPSEND=0,${payload.length}`, payload, collect: (line) => line === "OK" || line.startsWith("Recv "), final: (line) => (line === "SEND OK" ? "ok" : line === "SEND FAIL" ? "error" : undefined) }, record);
    module("\r\nOK\r\n");
    assert.equal(written.length, 1, "nothing is written before the prompt");
    module("> ");
    assert.equal(written[1], "secret\r\nOK\r\n");
    module(`\r\nRecv ${payload.length} bytes\r\n\r\nSEND OK\r\n`);
    assert.equal(outcomes[0]!.error, undefined);
    assert.ok(logLines.some((line) => line.indexOf(`> [${payload.length} bytes]`) >= 0), "the payload length is logged");
    assert.ok(!logLines.some((line) => line.indexOf("secret") >= 0), "the payload is never logged raw");
    assert.ok(logLines.some((line) => line.endsWith("at: > AT+CIPSEND=0,12") || line.endsWith("> AT+CIPSEND=0,12")), "commands are logged as > …");
  });

  test("a success final before the data prompt (a late SEND OK of an earlier send) does not end a command whose payload is not yet written", () => {
    const { channel, written, outcomes, record, module } = rig();
    const payload = bytes("report");
    const sendCommand = (text: string) => ({ text, payload, collect: (line: string) => line === "OK" || line.startsWith("Recv "), final: (line: string) => (line === "SEND OK" ? "ok" : line === "SEND FAIL" ? "error" : undefined) }) as const;
    channel.execute(sendCommand("AT+CIPSEND=0,6"), record);
    module("\r\nSEND OK\r\n\r\nOK\r\n");
    assert.equal(outcomes.length, 0, "a SEND OK before the prompt belongs to no payload of this command");
    module("> ");
    assert.equal(written[1], "report");
    module("\r\nRecv 6 bytes\r\n\r\nSEND OK\r\n");
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.error, undefined);
    // A SIM900A-style send (no collected OK): a stray OK before the prompt is not its final either; an ERROR still is.
    channel.execute({ text: "AT+CIPSEND=1,6", payload, final: (line) => (line === "1, SEND OK" ? "ok" : undefined) }, record);
    module("\r\nOK\r\n");
    assert.equal(outcomes.length, 1);
    module("\r\nERROR\r\n");
    assert.equal(outcomes[1]!.error?.failure, "error");
  });

  test("dispatches a URC that arrives in the middle of a response and keeps it out of the response", () => {
    const { channel, outcomes, record, module } = rig();
    const urcs: string[] = [];
    channel.onUrc("+NSONMI:", (line) => urcs.push(line));
    channel.execute({ text: "AT+CSQ", collect: ["+CSQ:"] }, record);
    module("\r\n+CSQ:20,99\r\n\r\n+NSONMI:0,4\r\n\r\nOK\r\n");
    assert.equal(urcs, ["+NSONMI:0,4"]);
    assert.equal(outcomes[0]!.response.lines, ["+CSQ:20,99"]);
  });

  test("counts stray lines as noise", () => {
    const { channel, module } = rig();
    module("\r\nOK\r\nhello\r\n");
    assert.equal(channel.stats.noiseLines, 2);
  });

  test("a command with no final result times out and the next one runs", async () => {
    const { clock, channel, outcomes, record, module, written } = rig();
    channel.execute({ text: "AT+SLOW", timeoutMs: 300 }, record);
    channel.execute({ text: "AT" }, record);
    await clock.advance(299);
    assert.equal(outcomes.length, 0);
    await clock.advance(2);
    assert.equal(outcomes[0]!.error?.failure, "timeout");
    assert.equal(channel.consecutiveTimeouts, 1);
    assert.equal(written[1], "AT\r\n");
    module("\r\nOK\r\n");
    assert.equal(outcomes[1]!.error, undefined);
    assert.equal(channel.consecutiveTimeouts, 0);
  });

  test("a full command queue fails at once with queue-full", () => {
    const { channel, outcomes, record } = rig(2);
    for (let i = 0; i < 4; i++) channel.execute({ text: `AT+N=${i}` }, record);
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.error?.failure, "queue-full");
    assert.equal(outcomes[0]!.error?.code, "queue-full");
  });

  test("busy p... resends the command after a pause", async () => {
    const { clock, channel, written, outcomes, record, module } = rig();
    channel.execute({ text: "AT+CIPMUX=1" }, record);
    module("\r\nbusy p...\r\n");
    await clock.advance(99);
    assert.equal(written.length, 1);
    await clock.advance(2);
    assert.equal(written, ["AT+CIPMUX=1\r\n", "AT+CIPMUX=1\r\n"]);
    module("\r\nOK\r\n");
    assert.equal(outcomes[0]!.error, undefined);
  });

  test("abort fails the running and every queued command and leaves no timer", async () => {
    const { clock, time, channel, outcomes, record, module } = rig();
    channel.execute({ text: "AT+A" }, record);
    channel.execute({ text: "AT+B" }, record);
    channel.abort("module reset");
    await clock.advance(1);
    assert.equal(outcomes.map((outcome) => outcome.error?.failure), ["aborted", "aborted"]);
    assert.equal(time.liveTimers, 0);
    channel.execute({ text: "AT" }, record);
    module("\r\nOK\r\n");
    assert.equal(outcomes[2]!.error, undefined);
  });

  test("a command with the port detached fails instead of hanging", () => {
    const { channel, outcomes, record, time } = rig();
    channel.attach(undefined);
    channel.execute({ text: "AT" }, record);
    assert.equal(outcomes[0]!.error?.failure, "aborted");
    assert.equal(time.liveTimers, 0);
  });

  test("fuzz: random input while commands run never throws and the channel still answers afterwards", async () => {
    const { clock, channel, outcomes, record, module } = rig();
    channel.addFrame({ prefix: "+IPD,", parseHeader: (fields) => ({ link: 0, length: Number(fields.split(",")[1]) }), crlfAfterColon: false, maxLength: 64 });
    channel.onUrc("+NSONMI:", () => undefined);
    channel.onFrames(() => undefined);
    let state = 0x2545f491;
    for (let round = 0; round < 200; round++) {
      channel.execute({ text: `AT+R${round}`, payload: Uint8Array.of(1, 2), timeoutMs: 50 }, record);
      const chunk = new Uint8Array(97);
      for (let i = 0; i < chunk.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        chunk[i] = [13, 10, 62, 79, 75][state & 7] ?? (state >>> 8) & 0xff;
      }
      channel.feed(chunk);
      await clock.advance(60);
    }
    assert.equal(outcomes.length, 200, "every command ended");
    assert.ok(!channel.busy);
    module("\r\n");
    channel.execute({ text: "AT" }, record);
    module("\r\nOK\r\n");
    assert.equal(outcomes[200]!.error, undefined);
  });
});
