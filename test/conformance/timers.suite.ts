import { LongTimers, MAX_TIMER_DELAY_MS, type TimerPrimitive } from "../../hal/common/long-timer.js";
import { DEFAULT_COAP_PARAMETERS, maxTransmitWaitMs, resolveParameters } from "../../modules/coap/params.js";
import { updateDelayMs } from "../../modules/lwm2m/registration.js";
import { assert, suite } from "./harness.js";

/** A timer primitive on virtual time: records every arm and disarm, fires on advance(). */
class VirtualPrimitive implements TimerPrimitive {
  now = 0;
  readonly armed: number[] = [];
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;

  arm(delayMs: number, callback: () => void): unknown {
    this.armed.push(delayMs);
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + delayMs, callback });
    return id;
  }
  disarm(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get count(): number {
    return this.pending.size;
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= until && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].callback();
    }
    this.now = until;
  }
}

const LONG_MS = 2 ** 31 + 1000;

export default suite("timers", (test) => {
  test("a delay above 2^31-1 ms is chained and fires once after the full delay", () => {
    const primitive = new VirtualPrimitive();
    const timers = new LongTimers(primitive);
    let fired = 0;
    timers.set(LONG_MS, () => fired++);
    assert.ok(primitive.armed.every((ms) => ms <= MAX_TIMER_DELAY_MS), `no primitive delay above the maximum (${primitive.armed.join(",")})`);
    primitive.advance(1);
    assert.equal(fired, 0, "not at once");
    primitive.advance(MAX_TIMER_DELAY_MS);
    assert.equal(fired, 0, "not after the maximum");
    primitive.advance(LONG_MS - MAX_TIMER_DELAY_MS - 2);
    assert.equal(fired, 0, "not 1 ms early");
    primitive.advance(1);
    assert.equal(fired, 1, "at the full delay");
    primitive.advance(10 * LONG_MS);
    assert.equal(fired, 1, "only once");
    assert.equal(primitive.count, 0, "nothing left armed");
    assert.ok(primitive.armed.every((ms) => ms <= MAX_TIMER_DELAY_MS), `no primitive delay above the maximum (${primitive.armed.join(",")})`);
  });

  test("a chained timer can be cleared at any link of the chain", () => {
    for (const clearAt of [0, 1000, MAX_TIMER_DELAY_MS + 500, 2 * MAX_TIMER_DELAY_MS + 10]) {
      const primitive = new VirtualPrimitive();
      const timers = new LongTimers(primitive);
      let fired = 0;
      const handle = timers.set(3 * MAX_TIMER_DELAY_MS, () => fired++);
      primitive.advance(clearAt);
      timers.clear(handle);
      timers.clear(handle);
      assert.equal(primitive.count, 0, `nothing armed after clearing at ${clearAt} ms`);
      primitive.advance(4 * MAX_TIMER_DELAY_MS);
      assert.equal(fired, 0, `cleared at ${clearAt} ms`);
    }
  });

  test("short delays go straight to the primitive", () => {
    const primitive = new VirtualPrimitive();
    const timers = new LongTimers(primitive);
    const fired: number[] = [];
    timers.set(30, () => fired.push(30));
    timers.set(-5, () => fired.push(0));
    timers.set(MAX_TIMER_DELAY_MS, () => fired.push(MAX_TIMER_DELAY_MS));
    timers.clear(timers.set(20, () => fired.push(20)));
    timers.clear(undefined);
    assert.equal(primitive.armed, [30, 0, MAX_TIMER_DELAY_MS, 20]);
    primitive.advance(MAX_TIMER_DELAY_MS);
    assert.equal(fired, [0, 30, MAX_TIMER_DELAY_MS]);
  });

  test("the Update's retransmissions fit inside the registration lifetime", () => {
    const waitMs = maxTransmitWaitMs(DEFAULT_COAP_PARAMETERS);
    for (const lifetime of [2 * waitMs / 1000, 300, 3600, 86400, 30 * 86400, 3000000]) {
      const delay = updateDelayMs(lifetime);
      assert.ok(delay + waitMs <= lifetime * 1000, `lifetime ${lifetime} s: Update at ${delay} ms + ${waitMs} ms of retransmissions`);
      assert.ok(delay >= lifetime * 500, `lifetime ${lifetime} s: Update not before half the lifetime (${delay} ms)`);
    }
  });

  test("the Update margin follows the endpoint's own CoAP transmission parameters", () => {
    for (const overrides of [{ ackTimeoutMs: 500 }, { ackTimeoutMs: 4000, maxRetransmit: 5 }]) {
      const waitMs = maxTransmitWaitMs(resolveParameters(overrides));
      for (const lifetime of [Math.ceil(2 * waitMs / 1000), 300, 86400].filter((seconds) => seconds * 1000 >= 2 * waitMs)) {
        const delay = updateDelayMs(lifetime, waitMs);
        assert.ok(delay + waitMs <= lifetime * 1000, `${JSON.stringify(overrides)}, lifetime ${lifetime} s: Update at ${delay} ms + ${waitMs} ms`);
      }
      assert.equal(updateDelayMs(86400, waitMs), 86400 * 900, "10 % of a day dominates");
    }
  });

  test("a lifetime too short for the Update's retransmissions: the Update goes out at half the lifetime", () => {
    const waitMs = maxTransmitWaitMs(DEFAULT_COAP_PARAMETERS);
    for (const lifetime of [2, 10, 60, 120, 2 * waitMs / 1000 - 1]) {
      assert.equal(updateDelayMs(lifetime), lifetime * 500, `lifetime ${lifetime} s`);
    }
  });
});
