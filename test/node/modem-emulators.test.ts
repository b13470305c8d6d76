import { afterEach, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import net from "node:net";
import type { Esp8266Emulator } from "../modem/esp8266.js";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from "../modem/start.js";
import { PAYLOAD, PAYLOAD_TEXT, udpEcho, Wire } from "../modem/wire.js";

/**
 * Each modem emulator driven from Node through NodeSerial on its pty, with
 * the dialogue of modules/at/command-sets.md: start-up, a UDP link to a real
 * echo server on 127.0.0.1, a binary payload holding "\r\nOK\r\n" sent and
 * received back in the module's frame, close; then each injected fault as it
 * shows on the wire.
 */
const HAVE_SOCAT = spawnSync("sh", ["-c", "command -v socat"]).status === 0;
if (!HAVE_SOCAT) process.stderr.write("modem-emulators.test: skipped, socat is missing (apt-get install socat)\n");
const maybe = HAVE_SOCAT ? describe : describe.skip;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: StartEmulatorOptions): Promise<{ running: RunningEmulator; wire: Wire }> {
  const running = await startEmulator(options);
  cleanups.push(() => running.close());
  const wire = new Wire(running.devicePath!);
  cleanups.push(() => wire.close());
  return { running, wire };
}

async function echoServer(): Promise<number> {
  const echo = await udpEcho();
  cleanups.push(() => echo.close());
  return echo.port;
}

const hex = (data: Uint8Array) => Buffer.from(data).toString("hex").toUpperCase();

/** A modem's dialogue: bring-up, open link 0 to 127.0.0.1:port, send PAYLOAD, the frame it comes back in, close. */
interface Dialogue {
  readonly options: StartEmulatorOptions;
  init(wire: Wire): Promise<void>;
  open(wire: Wire, port: number): Promise<void>;
  send(wire: Wire): Promise<void>;
  /** Waits for PAYLOAD echoed by the server at `port` and checks its frame. */
  receive(wire: Wire, port: number): Promise<void>;
  close(wire: Wire): Promise<void>;
  /** What the module says when it starts. */
  readonly startUp: readonly string[];
  /** What a link drop looks like. */
  readonly dropped: readonly string[];
  /** The frame (or its URC) of a received PAYLOAD. */
  frame(port: number): string;
}

const DIALOGUES: Record<StartEmulatorOptions["modem"], Dialogue> = {
  esp8266: {
    options: { modem: "esp8266", ssid: "lab", password: "pa,ss\"word", joinDelayMs: 100, bootMs: 100 },
    async init(wire) {
      await wire.step("AT", ["AT\r\n", "\r\nOK\r\n"]);
      await wire.step("ATE0", ["ATE0\r\n", "\r\nOK\r\n"]);
      expect(await wire.step("AT", "\r\nOK\r\n")).toBe("\r\nOK\r\n");
      await wire.step("AT+CWMODE=1", "\r\nOK\r\n");
      await wire.step('AT+CWJAP="lab","pa,ss\\"word"', ["\r\nWIFI CONNECTED\r\n", "\r\nWIFI GOT IP\r\n", "\r\nOK\r\n"]);
      await wire.step("AT+CIPMUX=1", "\r\nOK\r\n");
      await wire.step("AT+CIPDINFO=1", "\r\nOK\r\n");
      await wire.step("AT+CIFSR", ['\r\n+CIFSR:STAIP,"192.168.4.2"\r\n', '\r\n+CIFSR:STAMAC,"18:fe:34:12:34:56"\r\n', "\r\nOK\r\n"]);
    },
    open: (wire, port) => wire.step(`AT+CIPSTART=0,"UDP","127.0.0.1",${port}`, ["\r\n0,CONNECT\r\n", "\r\nOK\r\n"]).then(() => undefined),
    async send(wire) {
      await wire.step(`AT+CIPSEND=0,${PAYLOAD.length}`, "\r\nOK\r\n> ");
      wire.since();
      wire.write(PAYLOAD);
      await wire.expect([`\r\nRecv ${PAYLOAD.length} bytes\r\n`, "\r\nSEND OK\r\n"]);
    },
    frame: (port) => `+IPD,0,${PAYLOAD.length},127.0.0.1,${port}:${PAYLOAD_TEXT}`,
    async receive(wire, port) {
      await wire.expect(this.frame(port));
    },
    close: (wire) => wire.step("AT+CIPCLOSE=0", ["\r\n0,CLOSED\r\n", "\r\nOK\r\n"]).then(() => undefined),
    startUp: ["\r\nready\r\n"],
    dropped: ["\r\n0,CLOSED\r\n"],
  },
  sim900a: {
    options: { modem: "sim900a", apn: "cmnet", registerDelayMs: 50, attachDelayMs: 50, bringUpDelayMs: 100 },
    async init(wire) {
      await wire.step("AT", ["AT\r\n", "\r\nOK\r\n"]);
      await wire.step("ATE0", "\r\nOK\r\n");
      await wire.step("AT+CPIN?", ["\r\n+CPIN: READY\r\n", "\r\nOK\r\n"]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await wire.step("AT+CREG?", ["\r\n+CREG: 0,1\r\n", "\r\nOK\r\n"]);
      await wire.step("AT+COPS?", ['\r\n+COPS: 0,0,"CHINA MOBILE"\r\n', "\r\nOK\r\n"]);
      await wire.step("AT+CGATT?", ["\r\n+CGATT: 1\r\n", "\r\nOK\r\n"]);
      await wire.step("AT+CIPSHUT", "\r\nSHUT OK\r\n");
      await wire.step("AT+CIPMUX=1", "\r\nOK\r\n");
      await wire.step("AT+CIPHEAD=1", "\r\nOK\r\n");
      await wire.step('AT+CSTT="cmnet","",""', "\r\nOK\r\n");
      await wire.step("AT+CIICR", "\r\nOK\r\n");
      expect(await wire.step("AT+CIFSR", "\r\n10.64.12.7\r\n")).toBe("\r\n10.64.12.7\r\n");
    },
    open: (wire, port) => wire.step(`AT+CIPSTART=0,"UDP","127.0.0.1","${port}"`, ["\r\nOK\r\n", "\r\n0, CONNECT OK\r\n"]).then(() => undefined),
    async send(wire) {
      await wire.step(`AT+CIPSEND=0,${PAYLOAD.length}`, "> ");
      wire.since();
      wire.write(PAYLOAD);
      await wire.expect("\r\n0, SEND OK\r\n");
    },
    frame: () => `+RECEIVE,0,${PAYLOAD.length}:\r\n${PAYLOAD_TEXT}`,
    async receive(wire, port) {
      await wire.expect(this.frame(port));
    },
    close: (wire) => wire.step("AT+CIPCLOSE=0", "\r\n0, CLOSE OK\r\n").then(() => undefined),
    startUp: ["\r\nRDY\r\n", "\r\n+CFUN: 1\r\n", "\r\n+CPIN: READY\r\n", "\r\nCall Ready\r\n"],
    dropped: ["\r\n+PDP: DEACT\r\n"],
  },
  bc95: {
    options: { modem: "bc95", attachDelayMs: 100, dropAttachMs: 300 },
    async init(wire) {
      expect(await wire.step("AT", "\r\nOK\r\n")).toBe("\r\nOK\r\n"); // no echo
      await new Promise((resolve) => setTimeout(resolve, 150));
      await wire.step("AT+CGATT?", ["\r\n+CGATT:1\r\n", "\r\nOK\r\n"]);
      await wire.step("AT+CSQ", ["\r\n+CSQ:20,99\r\n", "\r\nOK\r\n"]);
      await wire.step("AT+CGPADDR", ["\r\n+CGPADDR:0,10.1.2.3\r\n", "\r\nOK\r\n"]);
      await wire.step("AT+CGSN=1", ["\r\n+CGSN:490154203237518\r\n", "\r\nOK\r\n"]);
    },
    open: (wire) => wire.step("AT+NSOCR=DGRAM,17,56830,1", ["\r\n0\r\n", "\r\nOK\r\n"]).then(() => undefined),
    async send(wire) {
      // The port is the echo server's: the test keeps it in `lastPort`.
      await wire.step(`AT+NSOST=0,127.0.0.1,${lastPort},${PAYLOAD.length},${hex(PAYLOAD)}`, [`\r\n0,${PAYLOAD.length}\r\n`, "\r\nOK\r\n"]);
    },
    frame: () => `\r\n+NSONMI:0,${PAYLOAD.length}\r\n`,
    async receive(wire, port) {
      await wire.expect(this.frame(port));
      await wire.step("AT+NSORF=0,512", [`\r\n0,127.0.0.1,${port},${PAYLOAD.length},${hex(PAYLOAD)},0\r\n`, "\r\nOK\r\n"]);
      expect(await wire.step("AT+NSORF=0,512", "\r\nOK\r\n")).toBe("\r\nOK\r\n");
    },
    close: (wire) => wire.step("AT+NSOCL=0", "\r\nOK\r\n").then(() => undefined),
    startUp: ["\r\nREBOOT_CAUSE_APPLICATION_AT\r\n", "\r\nNeul \r\n", "\r\nOK\r\n"],
    dropped: [],
  },
};
let lastPort = 0;

async function connected(modem: StartEmulatorOptions["modem"]) {
  const dialogue = DIALOGUES[modem];
  const { running, wire } = await start(dialogue.options);
  const port = await echoServer();
  lastPort = port;
  await dialogue.init(wire);
  await dialogue.open(wire, port);
  return { dialogue, running, wire, port };
}

maybe("modem emulators on a pty, driven through NodeSerial", () => {
  for (const modem of ["esp8266", "sim900a", "bc95"] as const) {
    describe(modem, () => {
      test("start-up, UDP link to a real echo server, binary payload out and back in the module's frame, close", async () => {
        const { dialogue, wire, port } = await connected(modem);
        await dialogue.send(wire);
        await dialogue.receive(wire, port);
        await dialogue.close(wire);
      });

      test("reset: the start-up lines, echo on again, links gone", async () => {
        const { dialogue, running, wire } = await connected(modem);
        wire.since();
        running.emulator.reset();
        await wire.expect(dialogue.startUp);
        if (modem !== "bc95") await wire.step("AT", ["AT\r\n", "\r\nOK\r\n"]);
        if (modem === "esp8266") await wire.step("AT+CIPSEND=0,4", "\r\nERROR\r\n");
        if (modem === "sim900a") await wire.step("AT+CIPSEND=0,4", "\r\nERROR\r\n");
        if (modem === "bc95") await wire.step("AT+NSOCL=0", "\r\nERROR\r\n");
      });

      test("ERROR for the next N commands, then answers again", async () => {
        const { running, wire } = await connected(modem);
        running.emulator.errorNext(2);
        await wire.step("AT", "\r\nERROR\r\n");
        await wire.step("AT", "\r\nERROR\r\n");
        expect(await wire.step("AT", "\r\nOK\r\n")).not.toContain("ERROR");
      });

      test("silence: no answer while silent, input ignored; answers afterwards", async () => {
        const { running, wire } = await connected(modem);
        running.emulator.silence(400);
        wire.send("AT");
        expect(await wire.quiet(300)).toBe("");
        await new Promise((resolve) => setTimeout(resolve, 150));
        await wire.step("AT", "\r\nOK\r\n");
      });

      test("link drop as the module reports it", async () => {
        const { dialogue, running, wire } = await connected(modem);
        wire.since();
        running.emulator.drop();
        if (dialogue.dropped.length > 0) await wire.expect(dialogue.dropped);
        if (modem === "esp8266") await wire.step("AT+CIPSEND=0,4", "\r\nERROR\r\n");
        if (modem === "sim900a") {
          await wire.step(`AT+CIPSTART=0,"UDP","127.0.0.1","${lastPort}"`, "\r\nERROR\r\n");
          await wire.step("AT+CIPSHUT", "\r\nSHUT OK\r\n");
          await wire.step('AT+CSTT="cmnet","",""', "\r\nOK\r\n");
          await wire.step("AT+CIICR", "\r\nOK\r\n");
          await wire.step("AT+CIFSR", "\r\n10.64.12.7\r\n");
          await wire.step(`AT+CIPSTART=0,"UDP","127.0.0.1","${lastPort}"`, "\r\n0, CONNECT OK\r\n");
        }
        if (modem === "bc95") {
          // Sockets closed, attach lost for a while, then back.
          await wire.step(`AT+NSOST=0,127.0.0.1,${lastPort},1,00`, "\r\nERROR\r\n");
          await wire.step("AT+CGATT?", "\r\n+CGATT:0\r\n");
          await new Promise((resolve) => setTimeout(resolve, 350));
          await wire.step("AT+CGATT?", "\r\n+CGATT:1\r\n");
        }
      });

      test("a URC split across reads arrives in several chunks", async () => {
        const { dialogue, running, wire, port } = await connected(modem);
        running.emulator.splitNextUrc();
        const before = wire.chunks.length;
        await dialogue.send(wire);
        await wire.expect(dialogue.frame(port));
        const chunks = wire.chunks.slice(before).map((chunk) => chunk.text);
        expect(chunks.join("")).toContain(dialogue.frame(port));
        expect(chunks.some((chunk) => chunk.includes(dialogue.frame(port)))).toBe(false);
      });

      test("a URC interleaved inside the next command's response", async () => {
        const { dialogue, running, wire, port } = await connected(modem);
        running.emulator.interleaveNextUrc();
        await dialogue.send(wire);
        // The datagram is back at the module by now; its frame waits for the next response.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(wire.fresh).not.toContain(dialogue.frame(port));
        const answer = await wire.step("AT", [dialogue.frame(port), "\r\nOK\r\n"]);
        expect(answer.indexOf(dialogue.frame(port))).toBeLessThan(answer.lastIndexOf("\r\nOK\r\n"));
      });

      test("garbage bytes, then the module answers as before", async () => {
        const { running, wire } = await connected(modem);
        wire.since();
        running.emulator.injectGarbage(64);
        const noise = await wire.quiet(100);
        expect(noise.length).toBe(64);
        expect([...noise].every((char) => char.charCodeAt(0) >= 0x80)).toBe(true);
        await wire.step("AT", "\r\nOK\r\n");
      });

      test("a slow baud rate throttles the output", async () => {
        const { running, wire } = await connected(modem);
        // 50 bytes/s: the six bytes of "\r\nOK\r\n" one at a time, 20 ms apart.
        running.emulator.throttle(50);
        const started = Date.now();
        const before = wire.chunks.length;
        await wire.step("AT", "\r\nOK\r\n");
        expect(Date.now() - started).toBeGreaterThanOrEqual(90);
        expect(wire.chunks.length - before).toBeGreaterThanOrEqual(4);
        running.emulator.throttle(0);
      });
    });
  }

  describe("esp8266 failures", () => {
    test("wrong password +CWJAP:2 FAIL, AP not found +CWJAP:3 FAIL, busy p... while joining", async () => {
      const { wire } = await start({ modem: "esp8266", ssid: "lab", password: "right", joinDelayMs: 200 });
      await wire.step("ATE0", "\r\nOK\r\n");
      await wire.step('AT+CIPDOMAIN="localhost"', ["\r\nDNS Fail\r\n", "\r\nERROR\r\n"]); // not joined yet
      await wire.step('AT+CWJAP="lab","wrong"', ["\r\n+CWJAP:2\r\n", "\r\nFAIL\r\n"]);
      await wire.step('AT+CWJAP="elsewhere","right"', ["\r\n+CWJAP:3\r\n", "\r\nFAIL\r\n"]);
      wire.send('AT+CWJAP="lab","right"');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await wire.step("AT", "\r\nbusy p...\r\n");
      await wire.expect(["\r\nWIFI GOT IP\r\n", "\r\nOK\r\n"]);
      await wire.step('AT+CIPDOMAIN="localhost"', ["\r\n+CIPDOMAIN:127.0.0.1\r\n", "\r\nOK\r\n"]);
    });

    test("TCP: refused gives id,CLOSED ERROR; a peer's close gives id,CLOSED; the AP lost gives WIFI DISCONNECT", async () => {
      const { running, wire } = await start({ modem: "esp8266", ssid: "lab", password: "pw", joinDelayMs: 20 });
      await wire.step("ATE0", "\r\nOK\r\n");
      await wire.step('AT+CWJAP="lab","pw"', "\r\nOK\r\n");
      await wire.step("AT+CIPMUX=1", "\r\nOK\r\n");
      const server = net.createServer((socket) => setTimeout(() => socket.end(), 100));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const port = (server.address() as net.AddressInfo).port;
      await wire.step(`AT+CIPSTART=1,"TCP","127.0.0.1",${port}`, ["\r\n1,CONNECT\r\n", "\r\nOK\r\n"]);
      await wire.expect("\r\n1,CLOSED\r\n");
      await wire.step("AT+CIPCLOSE=1", ["\r\nUNLINK\r\n", "\r\nERROR\r\n"]);
      const closedPort = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, "127.0.0.1", () => {
          const free = (probe.address() as net.AddressInfo).port;
          probe.close(() => resolve(free));
        });
      });
      await wire.step(`AT+CIPSTART=2,"TCP","127.0.0.1",${closedPort}`, ["\r\n2,CLOSED\r\n", "\r\nERROR\r\n"]);
      await wire.step(`AT+CIPSTART=3,"UDP","127.0.0.1",${port}`, "\r\nOK\r\n");
      await wire.step(`AT+CIPSTART=3,"UDP","127.0.0.1",${port}`, ["\r\nALREADY CONNECTED\r\n", "\r\nERROR\r\n"]);
      wire.since();
      (running.emulator as Esp8266Emulator).loseAccessPoint();
      await wire.expect("\r\nWIFI DISCONNECT\r\n");
    });
  });

  test("sim900a without a SIM: +CME ERROR: 10; a wrong APN: CIICR ERROR; links open only after CIFSR (IP STATUS)", async () => {
    const { wire } = await start({ modem: "sim900a", simPresent: false });
    await wire.step("AT+CPIN?", "\r\n+CME ERROR: 10\r\n");
    const other = await start({ modem: "sim900a", apn: "cmnet", registerDelayMs: 0, attachDelayMs: 0, bringUpDelayMs: 10 });
    await other.wire.step("ATE0", "\r\nOK\r\n");
    await other.wire.step('AT+CSTT="internet","",""', "\r\nOK\r\n");
    await other.wire.step("AT+CIICR", "\r\nERROR\r\n");
    await other.wire.step("AT+CIPSHUT", "\r\nSHUT OK\r\n");
    await other.wire.step('AT+CSTT="cmnet","",""', "\r\nOK\r\n");
    await other.wire.step("AT+CIICR", "\r\nOK\r\n");
    await other.wire.step('AT+CIPSTART=0,"UDP","127.0.0.1","9"', "\r\nERROR\r\n");
    await other.wire.step("AT+CIFSR", "\r\n10.64.12.7\r\n");
    await other.wire.step('AT+CDNSGIP="localhost"', ["\r\nOK\r\n", '\r\n+CDNSGIP: 1,"localhost","127.0.0.1"\r\n']);
    await other.wire.step('AT+CIPSTART=0,"UDP","127.0.0.1","9"', ["\r\nOK\r\n", "\r\n0, CONNECT OK\r\n"]);
    await other.wire.step('AT+CIPSTART=0,"UDP","127.0.0.1","9"', ["\r\nOK\r\n", "\r\n0, ALREADY CONNECT\r\n"]);
  });

  test("bc95 refuses port 5683 and a payload whose hex does not match its length", async () => {
    const { wire } = await start({ modem: "bc95", attachDelayMs: 0 });
    await wire.step("AT+NSOCR=DGRAM,17,5683,1", "\r\nERROR\r\n");
    await wire.step("AT+NSOCR=DGRAM,17,56830,1", ["\r\n0\r\n", "\r\nOK\r\n"]);
    await wire.step("AT+NSOST=0,127.0.0.1,9,2,00", "\r\nERROR\r\n");
    await wire.step("AT+NRB", ["\r\nREBOOTING\r\n", "\r\nREBOOT_CAUSE_APPLICATION_AT\r\n", "\r\nNeul \r\n", "\r\nOK\r\n"]);
  });

  test("the CLI prints the device TTY, answers on it, takes fault commands on stdin and quits", async () => {
    const cli = spawn(process.execPath, [path.join(BUILD_ROOT, "test", "modem", "cli.js"), "--modem", "bc95", "--log"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    cli.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
    const exited = new Promise<number | null>((resolve) => cli.on("exit", resolve));
    cleanups.push(() => cli.kill());
    const deadline = Date.now() + 5000;
    while (!/UART is (\S+)/.test(out) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const devicePath = /UART is (\S+)/.exec(out)![1]!;
    const wire = new Wire(devicePath);
    cleanups.push(() => wire.close());
    await wire.step("AT", "\r\nOK\r\n");
    cli.stdin.write("error 1\n");
    while (!out.includes("the next 1 commands answer ERROR") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await wire.step("AT", "\r\nERROR\r\n");
    expect(out).toContain("<- AT");
    cli.stdin.write("quit\n");
    expect(await exited).toBe(0);
  });
});
