import type { SocketAddress } from "../../hal/net.js";
import { assert, bound, sleep, suite, waitFor } from "./harness.js";

export default suite("platform port", (test) => {
  test("timers fire in deadline order and can be cleared", async ({ platform }) => {
    const fired: number[] = [];
    platform.time.setTimer(30, () => fired.push(30));
    platform.time.setTimer(10, () => fired.push(10));
    const cleared = platform.time.setTimer(20, () => fired.push(20));
    platform.time.clearTimer(cleared);
    platform.time.clearTimer(cleared);
    await sleep(platform, 60);
    assert.equal(fired, [10, 30]);
  });

  test("a timer longer than 2^31-1 ms does not fire early and can be cleared", async ({ platform }) => {
    let fired = 0;
    const handle = platform.time.setTimer(2 ** 31 + 1000, () => fired++);
    await sleep(platform, 200);
    assert.equal(fired, 0, "a 2^31 + 1000 ms timer fired within 200 ms");
    platform.time.clearTimer(handle);
    platform.time.clearTimer(handle);
    await sleep(platform, 20);
    assert.equal(fired, 0);
  });

  test("monotonic time advances and the wall clock can be set", async ({ platform }) => {
    const before = platform.time.monotonicMs();
    await sleep(platform, 20);
    assert.ok(platform.time.monotonicMs() - before >= 15, "at least 15 ms passed");
    const original = platform.time.wallClockMs();
    platform.time.setWallClockMs(1700000000000);
    assert.ok(Math.abs(platform.time.wallClockMs() - 1700000000000) < 2000, "wall clock was set");
    platform.time.setWallClockMs(original);
  });

  test("random bytes vary", ({ platform }) => {
    const a = new Uint8Array(16);
    const b = new Uint8Array(16);
    platform.random.fill(a);
    platform.random.fill(b);
    assert.notEqual(a, b);
  });

  test("UDP datagrams cross loopback both ways", async ({ platform }) => {
    const received: { data: Uint8Array; from: SocketAddress }[] = [];
    const server = platform.net.openUdp({
      onDatagram: (data, from) => {
        received.push({ data, from });
        server.send(data.map((byte) => byte ^ 0xff), from);
      },
    });
    const echoes: Uint8Array[] = [];
    const client = platform.net.openUdp({ onDatagram: (data) => echoes.push(data) });
    try {
      await bound(platform, server);
      await bound(platform, client);
      client.send(new Uint8Array([1, 2, 3]), { address: "127.0.0.1", port: server.localPort });
      await waitFor(platform, () => echoes.length === 1, 2000, "the echo");
      assert.equal(received[0]!.data, new Uint8Array([1, 2, 3]));
      assert.equal(received[0]!.from.port, client.localPort);
      assert.equal(echoes[0], new Uint8Array([0xfe, 0xfd, 0xfc]));
      assert.throws(() => client.send(new Uint8Array(platform.net.maxDatagramSize + 1), { address: "127.0.0.1", port: server.localPort }), "too-large");
      assert.throws(() => client.send(new Uint8Array(1), { address: "not an address", port: 5683 }), "address-invalid");
    } finally {
      client.close();
      server.close();
    }
    assert.throws(() => client.send(new Uint8Array(1), { address: "127.0.0.1", port: 9 }), "closed");
  });

  test("names resolve, numeric addresses pass through", async ({ platform }) => {
    const results: (string | undefined)[] = [];
    platform.net.resolve("127.0.0.1", (error, address) => results.push(error ? error.code : address));
    platform.net.resolve("localhost", (error, address) => results.push(error ? error.code : address));
    await waitFor(platform, () => results.length === 2, 2000, "two resolutions");
    assert.ok(results.indexOf("127.0.0.1") >= 0, "numeric address passes through");
  });

  test("log lines carry time, level and tag", ({ platform }) => {
    const log = platform.log.child("test");
    assert.equal(log.enabled("error"), true);
    assert.equal(log.enabled("trace"), platform.log.level === "trace");
    log.debug("conformance logging check");
  });
});
