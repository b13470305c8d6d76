import { FaultyNet, type FaultDecision } from "../../hal/host/faults/faulty-net.js";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import type { Platform } from "../../hal/platform.js";
import { assert, bound, sleep, suite, waitFor } from "./harness.js";

const DATAGRAMS = 200;

/** Sends numbered datagrams through a FaultyNet over the platform's real loopback UDP. */
async function run(platform: Platform, faults: ConstructorParameters<typeof FaultyNet>[2]) {
  const net = new FaultyNet(platform.net, platform.time, { ...faults, direction: "send" });
  const arrivals: number[] = [];
  const receiver = platform.net.openUdp({ onDatagram: (data) => arrivals.push((data[0]! << 8) | data[1]!) });
  const sender = net.openUdp({ onDatagram: () => undefined });
  try {
    await bound(platform, receiver);
    for (let n = 0; n < DATAGRAMS; n++) sender.send(new Uint8Array([n >> 8, n & 0xff]), { address: "127.0.0.1", port: receiver.localPort });
    const expected = DATAGRAMS - net.stats.dropped + net.stats.duplicated;
    await waitFor(platform, () => arrivals.length >= expected, 5000, `${expected} datagrams`);
    await sleep(platform, 20);
    return { arrivals, decisions: net.decisions.slice(), stats: { ...net.stats } };
  } finally {
    sender.close();
    receiver.close();
  }
}

function actions(decisions: FaultDecision[]): string {
  return decisions.map((d) => d.action).join(",");
}

export default suite("fault injection", (test) => {
  test("seeded random is deterministic", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const seqA = [a.nextUint32(), a.nextUint32(), a.nextUint32()];
    assert.equal([b.nextUint32(), b.nextUint32(), b.nextUint32()], seqA);
    assert.notEqual([c.nextUint32(), c.nextUint32(), c.nextUint32()], seqA);
  });

  test("a lossy network drops about the configured share, the same ones under the same seed", async ({ platform }) => {
    const first = await run(platform, { loss: 0.2, seed: 7 });
    const second = await run(platform, { loss: 0.2, seed: 7 });
    assert.ok(first.stats.dropped >= 20 && first.stats.dropped <= 60, `dropped ${first.stats.dropped} of ${DATAGRAMS}`);
    assert.equal(first.arrivals.length, DATAGRAMS - first.stats.dropped);
    assert.equal(actions(second.decisions), actions(first.decisions));
    assert.equal(second.arrivals.slice().sort((x, y) => x - y), first.arrivals.slice().sort((x, y) => x - y));
    const third = await run(platform, { loss: 0.2, seed: 8 });
    assert.notEqual(actions(third.decisions), actions(first.decisions));
  });

  test("a duplicating network delivers copies", async ({ platform }) => {
    const result = await run(platform, { duplicate: 0.1, seed: 3 });
    assert.ok(result.stats.duplicated >= 8 && result.stats.duplicated <= 40, `duplicated ${result.stats.duplicated}`);
    assert.equal(result.arrivals.length, DATAGRAMS + result.stats.duplicated);
    const seen = new Set<number>();
    let repeats = 0;
    for (const n of result.arrivals) {
      if (seen.has(n)) repeats++;
      seen.add(n);
    }
    assert.equal(repeats, result.stats.duplicated);
    assert.equal(seen.size, DATAGRAMS);
  });

  test("a reordering network lets later datagrams overtake", async ({ platform }) => {
    const result = await run(platform, { reorder: 0.1, reorderHoldMs: 30, seed: 5 });
    assert.ok(result.stats.reordered > 0, "some datagrams were held back");
    assert.equal(result.arrivals.length, DATAGRAMS);
    let inversions = 0;
    for (let i = 1; i < result.arrivals.length; i++) if (result.arrivals[i]! < result.arrivals[i - 1]!) inversions++;
    assert.ok(inversions > 0, "arrival order differs from send order");
    const again = await run(platform, { reorder: 0.1, reorderHoldMs: 30, seed: 5 });
    assert.equal(actions(again.decisions), actions(result.decisions));
  });

  test("rejects probabilities outside 0..1", ({ platform }) => {
    assert.throws(() => new FaultyNet(platform.net, platform.time, { loss: 1.5 }), "within 0..1");
  });
});
