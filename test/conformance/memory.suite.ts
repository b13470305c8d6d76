import { MemoryBudget } from "../../hal/memory.js";
import { assert, suite } from "./harness.js";

export default suite("memory budget", (test) => {
  test("takes the smallest block that fits", () => {
    const budget = new MemoryBudget([
      { blockSize: 256, blocks: 2 },
      { blockSize: 32, blocks: 2 },
    ]);
    const small = budget.allocate(20, "t");
    assert.equal(small.bytes.length, 20);
    assert.equal(budget.stats().pools[0]!.inUse, 1, "32-byte pool");
    const large = budget.allocate(100, "t");
    assert.equal(budget.stats().pools[1]!.inUse, 1, "256-byte pool");
    assert.equal(budget.stats().bytesInUse, 288);
    budget.release(small);
    budget.release(large);
    assert.equal(budget.stats().bytesInUse, 0);
    assert.equal(budget.stats().bytesHighWater, 288);
  });

  test("overflows into a larger pool, then fails clearly when exhausted", () => {
    const budget = new MemoryBudget([
      { blockSize: 16, blocks: 1 },
      { blockSize: 64, blocks: 1 },
    ]);
    budget.allocate(8, "a");
    budget.allocate(8, "b");
    assert.throws(() => budget.allocate(8, "coap rx"), "memory-exhausted");
    assert.equal(budget.stats().failures, 1);
  });

  test("rejects a request larger than every block", () => {
    const budget = new MemoryBudget([{ blockSize: 64, blocks: 4 }]);
    assert.throws(() => budget.allocate(65, "big"), "exceeds the largest block");
  });

  test("detects double release and foreign buffers", () => {
    const budget = new MemoryBudget([{ blockSize: 64, blocks: 4 }]);
    const other = new MemoryBudget([{ blockSize: 64, blocks: 4 }]);
    const lease = budget.allocate(10, "x");
    budget.release(lease);
    assert.throws(() => budget.release(lease), "released twice");
    assert.throws(() => budget.release(other.allocate(1, "y")), "does not hold");
  });

  test("hands out zeroed blocks and reuses them", () => {
    const budget = new MemoryBudget([{ blockSize: 8, blocks: 1 }]);
    const first = budget.allocate(8, "x");
    first.bytes.fill(0xaa);
    budget.release(first);
    const second = budget.allocate(8, "x");
    assert.equal(second.bytes, new Uint8Array(8));
    assert.equal(budget.stats().pools[0]!.highWater, 1);
  });
});
