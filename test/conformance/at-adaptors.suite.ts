import type { HalError } from "../../hal/errors.js";
import { MODEM_KINDS, type ModemKind } from "../../modules/at/modem-net.js";
import { modemRig, SECRETS, SERVER } from "./at-modem-rig.js";
import { SCRIPTED } from "./at-scripted-answers.js";
import { bytes } from "./at-scripted-modem.js";
import { assert, suite } from "./harness.js";

const INIT_DIALOGUE: Readonly<Record<ModemKind, readonly string[]>> = Object.freeze({
  esp8266: ["AT+RST", "ATE0", "AT+CWMODE=1", `AT+CWJAP="lab","${SECRETS.wifi}"`, "AT+CIPMUX=1", "AT+CIPDINFO=1", "AT+CIFSR"],
  sim900a: ["AT", "ATE0", "AT+CPIN?", "AT+CREG?", "AT+COPS?", "AT+CGATT?", "AT+CIPSHUT", "AT+CIPMUX=1", "AT+CIPHEAD=1", `AT+CSTT="CMNET","user","${SECRETS.apn}"`, "AT+CIICR", "AT+CIFSR"],
  bc95: ["AT", "AT+NSOCL=0", "AT+NSOCL=1", "AT+NSOCL=2", "AT+NSOCL=3", "AT+NSOCL=4", "AT+NSOCL=5", "AT+NSOCL=6", "AT+CGATT?", "AT+CSQ", "AT+CGPADDR", "AT+CGSN=1"],
});

const IDENTITY: Readonly<Record<ModemKind, readonly [string, string | undefined]>> = Object.freeze({
  esp8266: [SCRIPTED.espAddress, SCRIPTED.espMac],
  sim900a: [SCRIPTED.simAddress, undefined],
  bc95: [SCRIPTED.bcAddress, SCRIPTED.imei],
});

const OPEN_AND_SEND: Readonly<Record<ModemKind, (length: number) => readonly string[]>> = Object.freeze({
  esp8266: (length: number) => [`AT+CIPSTART=0,"UDP","${SERVER.address}",${SERVER.port}`, `AT+CIPSEND=0,${length},"${SERVER.address}",${SERVER.port}`],
  sim900a: (length: number) => [`AT+CIPSTART=0,"UDP","${SERVER.address}","${SERVER.port}"`, `AT+CIPSEND=0,${length}`],
  bc95: (length: number) => ["AT+NSOCR=DGRAM,17,56000,1", `AT+NSOST=0,${SERVER.address},${SERVER.port},${length},0D0A4F4B0D0A00FF`],
});

const MAX_SIZE: Readonly<Record<ModemKind, number>> = Object.freeze({ esp8266: 2048, sim900a: 1460, bc95: 512 });

/** Binary data that looks like a final result to a line parser. */
const TRICKY = bytes("\r\nOK\r\n\x00\xff");

export default suite("at-adaptors", (test) => {
  for (const kind of MODEM_KINDS) {
    test(`${kind}: brings the module up with exactly the documented dialogue and learns address and MAC`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      assert.equal(rig.modem.commands, INIT_DIALOGUE[kind]);
      assert.equal<readonly (string | undefined)[]>([rig.net.localAddress, rig.net.macAddress], IDENTITY[kind]);
      assert.equal(rig.net.maxDatagramSize, MAX_SIZE[kind]);
      await rig.stop();
    });

    test(`${kind}: a UDP datagram with CR LF OK inside goes out and comes back intact`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint, received, errors } = rig.endpoint();
      const before = rig.modem.commands.length;
      endpoint.send(TRICKY, SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the datagram to reach the modem");
      assert.equal(rig.modem.commands.slice(before), OPEN_AND_SEND[kind](TRICKY.length));
      assert.equal(rig.modem.sent[0]!.data, TRICKY);
      rig.modem.deliver(0, TRICKY, SERVER);
      await rig.until(() => received.length === 1, 2000, "the reply to arrive");
      assert.equal(received[0], { data: TRICKY, from: SERVER });
      assert.equal(errors.length, 0);
      if (kind === "bc95") assert.equal(endpoint.localPort, 56000);
      await rig.stop();
    });

    test(`${kind}: a datagram larger than ${MAX_SIZE[kind]} bytes is refused with too-large`, async () => {
      const rig = modemRig(kind);
      const { endpoint } = rig.endpoint();
      assert.throws(() => endpoint.send(new Uint8Array(MAX_SIZE[kind] + 1), SERVER), "too-large");
    });

    test(`${kind}: the largest datagram (${MAX_SIZE[kind]} bytes) comes back intact (defect: BC95's NSORF line for it outgrew the 256-byte line limit and was dropped as noise)`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint, received } = rig.endpoint();
      const largest = new Uint8Array(MAX_SIZE[kind]);
      for (let i = 0; i < largest.length; i++) largest[i] = (i * 7) & 0xff;
      endpoint.send(largest, SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the datagram to reach the modem");
      assert.equal(rig.modem.sent[0]!.data, largest);
      rig.modem.deliver(0, largest, SERVER);
      await rig.until(() => received.length === 1, 2000, "the reply to arrive");
      assert.equal(received[0]!.data, largest);
      await rig.stop();
    });

    test(`${kind}: the whole session works with every module byte arriving on its own, amid noise`, async () => {
      const rig = modemRig(kind);
      rig.modem.bytewise = true;
      rig.modem.inject(Uint8Array.of(0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x41, 0x0a));
      await rig.up();
      const { endpoint, received } = rig.endpoint();
      endpoint.send(bytes("ping"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the datagram to reach the modem");
      rig.modem.inject("\x8c\x02junk\r\n");
      rig.modem.deliver(0, TRICKY, SERVER);
      await rig.until(() => received.length === 1, 2000, "the reply to arrive");
      assert.equal(received[0]!.data, TRICKY);
      assert.ok(rig.net.stats.noiseLines > 0, "noise is counted");
      await rig.stop();
    });

    test(`${kind}: secrets and payloads never reach the log`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint } = rig.endpoint();
      endpoint.send(bytes("PAYLOAD-TEXT"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the datagram to reach the modem");
      const all = rig.logLines.join("\n");
      assert.ok(all.indexOf(SECRETS.wifi) < 0 && all.indexOf(SECRETS.apn) < 0, "a password was logged");
      assert.ok(all.indexOf("PAYLOAD-TEXT") < 0 && all.indexOf("5041594C4F4144") < 0, "the payload was logged");
      assert.ok(all.indexOf("> [12 bytes]") >= 0 || all.indexOf(",12,[12 bytes]") >= 0, "the payload length is logged");
      await rig.stop();
    });
  }

  test("esp8266: a wrong Wi-Fi password is reported by name and the join is retried with back-off", async () => {
    const rig = modemRig("esp8266");
    rig.modem.wrongPassword = true;
    rig.net.start();
    await rig.until(() => rig.states.some((entry) => entry.detail.indexOf("wrong Wi-Fi password") >= 0), 5000, "the cause to be reported");
    assert.ok(rig.logLines.some((line) => line.indexOf("wrong Wi-Fi password") >= 0 && line.indexOf("retrying in 1 s") >= 0));
    await rig.until(() => rig.net.state === "ready", 5000, "the retry to join");
    assert.equal(rig.modem.commands.filter((line) => line.startsWith("AT+CWJAP=")).length, 2);
    await rig.stop();
  });

  test("esp8266: busy p... makes the adaptor resend the command after a pause", async () => {
    const rig = modemRig("esp8266");
    await rig.up();
    const { endpoint } = rig.endpoint();
    rig.modem.busyCount = 2;
    endpoint.send(bytes("x"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 5000, "the datagram to get through");
    assert.equal(rig.modem.commands.filter((line) => line.startsWith("AT+CIPSTART=")).length, 3);
    await rig.stop();
  });

  test("sim900a: CREG? is polled while the module searches", async () => {
    const rig = modemRig("sim900a");
    rig.modem.searchingPolls = 2;
    await rig.up(20000);
    assert.equal(rig.modem.commands.filter((line) => line === "AT+CREG?").length, 3);
    await rig.stop();
  });

  test("bc95: TCP is refused with invalid-argument and names are not resolved", async () => {
    const rig = modemRig("bc95");
    assert.throws(() => rig.net.connectTcp({ host: SERVER.address, port: 80, onData: () => undefined, onClose: () => undefined }), "BC95 has no TCP");
    let failure: HalError | undefined;
    rig.net.resolve("example.com", (error) => (failure = error));
    await rig.clock.advance(5);
    assert.equal(failure?.code, "dns-failed");
  });

  for (const kind of ["esp8266", "sim900a"] as const) {
    test(`${kind}: resolve() passes numbers through and asks the module for names`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const answers: (string | undefined)[] = [];
      rig.net.resolve("1.2.3.4", (_error, address) => answers.push(address));
      rig.net.resolve("example.com", (_error, address) => answers.push(address));
      rig.net.resolve("nowhere.invalid", (error) => answers.push(error?.code));
      await rig.until(() => answers.length === 3, 2000, "three answers");
      assert.equal(answers, ["1.2.3.4", SCRIPTED.resolved, "dns-failed"]);
      await rig.stop();
    });
  }

  test("sim900a: a URC interleaved inside a command response is handled and the command still succeeds", async () => {
    const rig = modemRig("sim900a");
    await rig.up();
    const first = rig.endpoint();
    first.endpoint.send(bytes("a"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 2000, "link 0 up");
    const second = rig.endpoint();
    const other = { address: "10.9.8.6", port: 5683 };
    rig.modem.interleave = "0, CLOSED";
    second.endpoint.send(bytes("b"), other);
    await rig.until(() => rig.modem.sent.length === 2 && first.errors.length === 1, 2000, "the send and the URC");
    assert.equal(first.errors[0]!.code, "io");
    assert.equal(second.errors.length, 0);
    await rig.stop();
  });

  for (const kind of ["esp8266", "sim900a"] as const) {
    test(`${kind}: a link the module kept (ALREADY CONNECT) is closed and opened again`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      rig.modem.links.set(0, { protocol: "UDP", remote: { address: "10.0.0.99", port: 9 }, inbox: [] });
      const { endpoint, errors } = rig.endpoint();
      endpoint.send(bytes("x"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the datagram to go out");
      assert.equal(rig.modem.links.get(0)!.remote, SERVER);
      assert.equal(rig.modem.commands.filter((line) => line === "AT+CIPCLOSE=0").length, 1);
      assert.equal(errors.length, 0);
      await rig.stop();
    });

    test(`${kind}: TCP connects, sends without a remote, receives, and ends cleanly when the peer closes`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const events: string[] = [];
      const data: Uint8Array[] = [];
      const connection = rig.net.connectTcp({
        host: "10.9.8.7",
        port: 80,
        onConnect: () => void events.push("connect"),
        onData: (chunk) => void data.push(chunk),
        onClose: (error) => void events.push(error ? `close ${error.code}` : "close"),
      });
      await rig.until(() => events.length === 1, 2000, "the connection");
      connection.send(bytes("GET"));
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the bytes to go out");
      assert.ok(rig.modem.commands.indexOf("AT+CIPSEND=0,3") >= 0, "TCP sends carry no remote");
      rig.modem.deliver(0, bytes("200"), { address: "10.9.8.7", port: 80 });
      await rig.until(() => data.length === 1, 2000, "the answer");
      rig.modem.dropLink(0);
      await rig.until(() => events.length === 2, 2000, "the close");
      assert.equal(events, ["connect", "close"]);
      assert.equal(connection.closed, true);
      await rig.stop();
    });
  }
});
