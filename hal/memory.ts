import { HalError } from "./errors.js";

export interface PoolConfig {
  /** Bytes in every block of this pool. */
  readonly blockSize: number;
  /** Number of blocks; the pool never grows. */
  readonly blocks: number;
}

export interface PoolStats {
  readonly blockSize: number;
  readonly blocks: number;
  readonly inUse: number;
  readonly highWater: number;
  readonly failures: number;
}

export interface MemoryStats {
  readonly pools: readonly PoolStats[];
  /** Bytes handed out now (block sizes, not requested sizes). */
  readonly bytesInUse: number;
  readonly bytesHighWater: number;
  readonly bytesTotal: number;
  readonly failures: number;
}

/** A lease on a pooled block; `bytes` is a view of exactly the requested length. */
export interface BufferLease {
  readonly bytes: Uint8Array;
  readonly owner: string;
}

/**
 * The memory budget: fixed-size block pools carved out of one preallocated
 * ArrayBuffer each. Allocation takes the smallest block that fits; when none is
 * free it throws HalError("memory-exhausted") naming the owner and the size,
 * and counts the failure. Nothing is allocated on the XS heap after construction
 * apart from the small lease objects.
 */
export class MemoryBudget {
  private readonly pools: Pool[];
  private bytesInUseNow = 0;
  private bytesHighWaterNow = 0;

  constructor(configs: readonly PoolConfig[]) {
    if (configs.length === 0) throw new HalError("invalid-argument", "a memory budget needs at least one pool");
    const sorted = configs.slice().sort((a, b) => a.blockSize - b.blockSize);
    this.pools = sorted.map((config) => new Pool(config));
  }

  /** Largest single allocation this budget can ever satisfy. */
  get maxBlockSize(): number {
    return this.pools[this.pools.length - 1]!.blockSize;
  }

  allocate(size: number, owner: string): BufferLease {
    if (!Number.isInteger(size) || size < 0) throw new HalError("invalid-argument", `${owner}: bad allocation size ${size}`);
    let sawFittingPool = false;
    for (const pool of this.pools) {
      if (pool.blockSize < size) continue;
      sawFittingPool = true;
      const lease = pool.take(size, owner);
      if (lease) {
        this.bytesInUseNow += pool.blockSize;
        if (this.bytesInUseNow > this.bytesHighWaterNow) this.bytesHighWaterNow = this.bytesInUseNow;
        return lease;
      }
    }
    const fitting = this.pools.filter((pool) => pool.blockSize >= size);
    const target = fitting[0] ?? this.pools[this.pools.length - 1]!;
    target.failures++;
    if (!sawFittingPool) {
      throw new HalError("memory-exhausted", `${owner}: ${size} bytes exceeds the largest block (${this.maxBlockSize} bytes)`);
    }
    throw new HalError("memory-exhausted", `${owner}: no free block for ${size} bytes (all ${fitting.map((p) => `${p.blocks}x${p.blockSize}`).join(", ")} in use)`);
  }

  /** Returns a lease's block; releasing twice or releasing a foreign lease throws. */
  release(lease: BufferLease): void {
    for (const pool of this.pools) {
      if (pool.give(lease)) {
        this.bytesInUseNow -= pool.blockSize;
        return;
      }
    }
    throw new HalError("invalid-argument", `${lease.owner}: released a buffer this budget does not hold`);
  }

  stats(): MemoryStats {
    let total = 0;
    let failures = 0;
    const pools = this.pools.map((pool) => {
      total += pool.blockSize * pool.blocks;
      failures += pool.failures;
      return pool.stats();
    });
    return { pools, bytesInUse: this.bytesInUseNow, bytesHighWater: this.bytesHighWaterNow, bytesTotal: total, failures };
  }
}

class Pool {
  readonly blockSize: number;
  readonly blocks: number;
  failures = 0;
  private readonly storage: ArrayBuffer;
  private readonly free: number[] = [];
  private readonly leased: (BufferLease | undefined)[];
  private highWater = 0;
  private inUse = 0;

  constructor(config: PoolConfig) {
    if (!Number.isInteger(config.blockSize) || config.blockSize <= 0 || !Number.isInteger(config.blocks) || config.blocks <= 0) {
      throw new HalError("invalid-argument", `bad pool ${config.blocks}x${config.blockSize}`);
    }
    this.blockSize = config.blockSize;
    this.blocks = config.blocks;
    this.storage = new ArrayBuffer(config.blockSize * config.blocks);
    this.leased = new Array<BufferLease | undefined>(config.blocks);
    for (let index = config.blocks - 1; index >= 0; index--) this.free.push(index);
  }

  take(size: number, owner: string): BufferLease | undefined {
    const index = this.free.pop();
    if (index === undefined) return undefined;
    const bytes = new Uint8Array(this.storage, index * this.blockSize, size);
    bytes.fill(0);
    const lease: BufferLease = { bytes, owner };
    this.leased[index] = lease;
    this.inUse++;
    if (this.inUse > this.highWater) this.highWater = this.inUse;
    return lease;
  }

  give(lease: BufferLease): boolean {
    if (lease.bytes.buffer !== this.storage) return false;
    const index = lease.bytes.byteOffset / this.blockSize;
    if (this.leased[index] !== lease) {
      throw new HalError("invalid-argument", `${lease.owner}: buffer released twice`);
    }
    this.leased[index] = undefined;
    this.free.push(index);
    this.inUse--;
    return true;
  }

  stats(): PoolStats {
    return { blockSize: this.blockSize, blocks: this.blocks, inUse: this.inUse, highWater: this.highWater, failures: this.failures };
  }
}

/** Default budget sized for one CoAP stack with a 1152-byte message limit. */
export const DEFAULT_MEMORY_POOLS: readonly PoolConfig[] = Object.freeze([
  Object.freeze({ blockSize: 64, blocks: 32 }),
  Object.freeze({ blockSize: 256, blocks: 16 }),
  Object.freeze({ blockSize: 1280, blocks: 8 }),
]);
