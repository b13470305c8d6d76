import { AsyncMutex } from "../../hal/mutex.js";
import { assert, sleep, suite } from "./harness.js";

export default suite("async mutex", (test) => {
  test("serves waiters in arrival order", async ({ platform }) => {
    const mutex = new AsyncMutex("at");
    const order: string[] = [];
    for (const name of ["a", "b", "c"]) {
      mutex.lock((release) => {
        order.push(`${name}+`);
        platform.time.setTimer(2, () => {
          order.push(`${name}-`);
          release();
        });
      });
    }
    await sleep(platform, 50);
    assert.equal(order, ["a+", "a-", "b+", "b-", "c+", "c-"]);
    assert.equal(mutex.locked, false);
  });

  test("bounds its wait queue", () => {
    const mutex = new AsyncMutex("q", 1);
    mutex.lock(() => undefined);
    mutex.lock(() => undefined);
    assert.throws(() => mutex.lock(() => undefined), "queue-full");
  });

  test("tryLock and double release", () => {
    const mutex = new AsyncMutex("t");
    const release = mutex.tryLock();
    if (!release) throw new Error("first tryLock failed");
    assert.equal(mutex.tryLock(), undefined);
    release();
    assert.throws(() => release(), "released twice");
  });

  test("acquire() resolves in order", async () => {
    const mutex = new AsyncMutex("p");
    const first = await mutex.acquire();
    const second = mutex.acquire();
    let secondHeld = false;
    void second.then(() => (secondHeld = true));
    await Promise.resolve();
    assert.equal(secondHeld, false);
    first();
    (await second)();
    assert.equal(mutex.locked, false);
  });
});
