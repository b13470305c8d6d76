import { HalError } from "../../hal/errors.js";
import { Logger } from "../../hal/log.js";
import { AsyncMutex } from "../../hal/mutex.js";
import { MODEM_KINDS, ModemNet } from "../../modules/at/modem-net.js";
import { modemRig, SERVER } from "./at-modem-rig.js";
import { bytes } from "./at-scripted-modem.js";
import { assert, suite } from "./harness.js";
import { VirtualClock, VirtualTime } from "./virtual-platform.js";

export default suite("at-recovery", (test) => {
  for (const kind of MODEM_KINDS) {
    test(`${kind}: a module that falls silent is re-initialised; the endpoint sees errors, then a later send works`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint, errors } = rig.endpoint();
      endpoint.send(bytes("one"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
      rig.modem.silent = true;
      for (let i = 0; i < 3; i++) endpoint.send(bytes(`lost${i}`), SERVER);
      await rig.until(() => rig.net.state === "recovering", 60000, "the silence to be noticed");
      assert.ok(errors.length >= 1, "the endpoint was told");
      assert.ok(errors.every((error) => error instanceof HalError), "errors are HalErrors");
      // Still silent: the re-init fails and is retried with back-off, never hangs.
      await rig.clock.advance(20000);
      assert.equal(rig.net.state, "recovering");
      rig.modem.silent = false;
      await rig.until(() => rig.net.state === "ready", 120000, "the module to come back");
      const sent = rig.modem.sent.length;
      endpoint.send(bytes("after"), SERVER);
      await rig.until(() => rig.modem.sent.length === sent + 1, 5000, "a send after the recovery");
      assert.equal(rig.modem.sent[sent]!.data, bytes("after"));
      await rig.stop();
    });

    test(`${kind}: a spontaneous reset re-initialises the module and reopens its link`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint, errors, received } = rig.endpoint();
      endpoint.send(bytes("one"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
      rig.modem.reset();
      await rig.until(() => rig.net.state === "recovering", 1000, "the reset to be noticed");
      assert.equal(errors[0]?.code, "unreachable");
      await rig.until(() => rig.net.state === "ready" && rig.modem.links.size === 1, 10000, "the module and its link to come back");
      endpoint.send(bytes("two"), SERVER);
      await rig.until(() => rig.modem.sent.length === 2, 2000, "a send after the reset");
      const link = [...rig.modem.links.keys()][0]!;
      rig.modem.deliver(link, bytes("back"), SERVER);
      await rig.until(() => received.length === 1, 2000, "a datagram after the reset");
      await rig.stop();
    });
  }

  test("bc95: re-initialising a module that kept its sockets (it fell silent, then came back) closes them, so sockets never run out", async () => {
    const rig = modemRig("bc95");
    await rig.up();
    const { endpoint } = rig.endpoint();
    // The module holds 7 sockets; each recovery from silence leaves the one of the link before it with the module.
    for (let round = 0; round < 9; round++) {
      const sent = rig.modem.sent.length;
      endpoint.send(bytes(`round ${round}`), SERVER);
      await rig.until(() => rig.modem.sent.length === sent + 1, 5000, `the datagram of round ${round} (module sockets: ${[...rig.modem.links.keys()].join(",")})`);
      rig.modem.silent = true;
      for (let i = 0; i < 3; i++) endpoint.send(bytes(`lost${i}`), SERVER);
      await rig.until(() => rig.net.state === "recovering", 60000, "the silence to be noticed");
      rig.modem.silent = false;
      await rig.until(() => rig.net.state === "ready", 120000, "the module to come back");
    }
    assert.ok(rig.modem.links.size <= 1, `the module holds ${rig.modem.links.size} sockets`);
    await rig.stop();
  });

  for (const kind of ["esp8266", "sim900a"] as const) {
    test(`${kind}: a link dropped by the module is reported and reopened by the next send`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint, errors } = rig.endpoint();
      endpoint.send(bytes("one"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
      rig.modem.dropLink(0);
      await rig.until(() => errors.length === 1, 1000, "the drop to be reported");
      assert.equal(errors[0]!.code, "io");
      assert.equal(rig.net.state, "ready");
      endpoint.send(bytes("two"), SERVER);
      await rig.until(() => rig.modem.sent.length === 2, 2000, "the link to reopen");
      assert.equal(rig.modem.commands.filter((line) => line.startsWith("AT+CIPSTART=0,")).length, 2);
      await rig.stop();
    });

    test(`${kind}: a link opened again after a drop is announced (peers may see a new address)`, async () => {
      const reopened: string[] = [];
      const rig = modemRig(kind, {}, { onLinkReopened: (remote) => void reopened.push(`${remote.address}:${remote.port}`) });
      await rig.up();
      const { endpoint, errors } = rig.endpoint();
      endpoint.send(bytes("one"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
      assert.equal(reopened.length, 0, "the first open is not a reopen");
      rig.modem.dropLink(0);
      await rig.until(() => errors.length === 1, 1000, "the drop to be reported");
      endpoint.send(bytes("two"), SERVER);
      await rig.until(() => rig.modem.sent.length === 2, 2000, "the link to reopen");
      assert.equal(reopened, [`${SERVER.address}:${SERVER.port}`]);
      await rig.stop();
    });

    test(`${kind}: losing the network (${kind === "esp8266" ? "WIFI DISCONNECT" : "+PDP: DEACT"}) brings the module up again`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint, errors } = rig.endpoint();
      endpoint.send(bytes("one"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
      const before = rig.modem.commands.length;
      rig.modem.loseNetwork();
      await rig.until(() => rig.net.state === "recovering", 1000, "the loss to be noticed");
      await rig.until(() => rig.net.state === "ready" && rig.modem.links.size === 1, 10000, "the module to come back");
      assert.equal(errors.length, 1);
      const again = rig.modem.commands.slice(before);
      assert.ok(again.indexOf(kind === "esp8266" ? 'AT+CWJAP="lab","pa55word"' : "AT+CIPSHUT") >= 0, `the bring-up ran again: ${again.join(" ")}`);
      await rig.stop();
    });
  }

  test("bc95: a socket the module dropped without a URC is reopened after its sends are refused (defect: NSOST answered ERROR forever)", async () => {
    const rig = modemRig("bc95");
    await rig.up();
    const { endpoint, errors } = rig.endpoint();
    endpoint.send(bytes("one"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
    rig.modem.links.clear(); // the network closed the socket; a BC95 says nothing
    endpoint.send(bytes("two"), SERVER);
    endpoint.send(bytes("three"), SERVER);
    await rig.until(() => errors.length >= 2, 2000, "the refused sends to be reported");
    endpoint.send(bytes("four"), SERVER);
    await rig.until(() => rig.modem.sent.length === 2, 4000, "a send on a new socket");
    assert.equal(rig.modem.sent[1]!.data, bytes("four"));
    assert.equal(rig.modem.commands.filter((line) => line.startsWith("AT+NSOCR=")).length, 2);
    assert.equal(rig.net.state, "ready");
    await rig.stop();
  });

  test("links the module refuses to open, three in a row, re-initialise it (a lost attach or context)", async () => {
    const rig = modemRig("bc95");
    await rig.up();
    const { endpoint, errors } = rig.endpoint();
    const before = rig.modem.commands.length;
    for (let attempt = 1; attempt <= 3; attempt++) {
      rig.modem.errorOnce = "AT+NSOCR";
      endpoint.send(bytes(`try ${attempt}`), SERVER);
      await rig.until(() => errors.length >= attempt, 2000, `refused open ${attempt}`);
    }
    await rig.until(() => rig.net.state === "ready" && rig.modem.commands.slice(before).indexOf("AT+CGATT?") >= 0, 10000, "the module to be brought up again");
    endpoint.send(bytes("four"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 4000, "a send after the recovery");
    await rig.stop();
  });

  test("an ERROR reply to opening a link fails that send only; the next send opens the link", async () => {
    const rig = modemRig("esp8266");
    await rig.up();
    const { endpoint, errors } = rig.endpoint();
    rig.modem.errorOnce = "AT+CIPSTART";
    endpoint.send(bytes("one"), SERVER);
    await rig.until(() => errors.length === 1, 2000, "the failure to be reported");
    endpoint.send(bytes("two"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 2000, "the second send");
    assert.equal(rig.modem.sent[0]!.data, bytes("two"));
    assert.equal(rig.net.state, "ready");
    await rig.stop();
  });

  test("bc95: +NSONMI inside another command's response is read with NSORF until nothing remains", async () => {
    const rig = modemRig("bc95");
    await rig.up();
    const { endpoint, received } = rig.endpoint();
    endpoint.send(bytes("one"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
    const inbox = rig.modem.links.get(0)!.inbox;
    inbox.push({ data: bytes("r1"), from: SERVER }, { data: bytes("r2"), from: SERVER });
    rig.modem.interleave = "+NSONMI:0,2";
    endpoint.send(bytes("two"), SERVER);
    await rig.until(() => received.length === 2, 2000, "both datagrams");
    assert.equal(received.map((item) => item.data), [bytes("r1"), bytes("r2")]);
    // Two datagrams and the empty answer that ends the reading.
    assert.equal(rig.modem.commands.filter((line) => line.startsWith("AT+NSORF=0,512")).length, 3);
    await rig.stop();
  });

  test("bc95: datagrams the module still holds are read although their +NSONMI was missed (defect: reads ran one datagram behind for good)", async () => {
    const rig = modemRig("bc95");
    await rig.up();
    const { endpoint, received } = rig.endpoint();
    endpoint.send(bytes("hello"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 2000, "the socket to open");
    rig.modem.links.get(0)!.inbox.push({ data: bytes("missed"), from: SERVER }); // its +NSONMI never came
    rig.modem.deliver(0, bytes("announced"), SERVER);
    await rig.until(() => received.length === 2, 2000, "both datagrams");
    assert.equal(received.map((item) => String.fromCharCode(...item.data)), ["missed", "announced"]);
    await rig.stop();
  });

  for (const kind of MODEM_KINDS) {
    test(`${kind}: a datagram sent before the module is up goes out once it is ready (defect: it waited for the next send, and CoAP's retransmission went out beside it)`, async () => {
      const rig = modemRig(kind);
      const { endpoint } = rig.endpoint();
      rig.net.start();
      endpoint.send(bytes("early"), SERVER);
      await rig.until(() => rig.net.state === "ready", 10000, "the module to come up");
      await rig.until(() => rig.modem.sent.length === 1, 500, "the early datagram");
      assert.equal(rig.modem.sent[0]!.data, bytes("early"));
      await rig.stop();
    });
  }

  test("bc95: its boot lines during start-up restart the start-up instead of shifting every answer by one (defect: the boot OK answered AT, and each later command got the answer of the one before)", async () => {
    const rig = modemRig("bc95");
    rig.net.start();
    rig.modem.reset(0); // powered up together with the MCU: REBOOT_CAUSE_…, "Neul ", OK while AT runs
    await rig.until(() => rig.net.state === "ready", 10000, "the module to come up");
    const failures = rig.states.filter((entry) => entry.detail.startsWith("init failed"));
    assert.equal(failures.map((entry) => entry.detail), ["init failed: io: module restarted (REBOOT_CAUSE_APPLICATION_AT) during start-up"]);
    await rig.stop();
  });

  test("a burst beyond the receive queue bound drops the oldest datagrams", async () => {
    const rig = modemRig("esp8266");
    await rig.up();
    const { endpoint, received } = rig.endpoint();
    endpoint.send(bytes("one"), SERVER);
    await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
    rig.modem.inject(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `+IPD,0,2,${SERVER.address},${SERVER.port}:d${i}`).join(""),
    );
    await rig.clock.advance(50);
    assert.equal(received.map((item) => String.fromCharCode(...item.data)), ["d6", "d7", "d8", "d9"]);
    await rig.stop();
  });

  for (const kind of MODEM_KINDS) {
    test(`${kind}: stop() closes the links and the port and leaves no timer, even mid-recovery`, async () => {
      const rig = modemRig(kind);
      await rig.up();
      const { endpoint } = rig.endpoint();
      endpoint.send(bytes("one"), SERVER);
      await rig.until(() => rig.modem.sent.length === 1, 2000, "the first datagram");
      await rig.stop();
      assert.equal(rig.time.liveTimers, 0, "ModemNet timers left after stop");
      assert.equal(rig.modem.isOpen, false, "the port is closed");
      assert.equal(rig.modem.links.size, 0, "the link was closed");
      assert.equal(rig.net.state, "stopped");

      const second = modemRig(kind);
      second.modem.silent = true;
      second.net.start();
      await second.clock.advance(30000);
      assert.equal(second.net.state, "starting");
      await second.stop();
      assert.equal(second.time.liveTimers, 0, "ModemNet timers left after a stop during back-off");
      await second.clock.advance(120000);
      const commands = second.modem.commands.length;
      await second.clock.advance(120000);
      assert.equal(second.modem.commands.length, commands, "nothing runs after stop");
    });
  }

  test("start() without a serial port throws not-found", () => {
    const time = new VirtualTime(new VirtualClock());
    const net = new ModemNet({ time, log: new Logger({ writeLine: () => undefined }, time), createMutex: (name) => new AsyncMutex(name) }, { modem: "esp8266" });
    assert.throws(() => net.start(), "not-found");
  });
});
