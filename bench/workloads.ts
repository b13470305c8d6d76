import { crc32 } from "../hal/common/crc32.js";
import { FlashFirmwareStorage } from "../hal/common/flash-firmware-storage.js";
import { MemoryBlockDevice } from "../hal/common/memory-block-device.js";
import { MemoryBudget } from "../hal/memory.js";
import { decodeMessage, encodeMessage } from "../modules/coap/codec.js";
import type { CoapMessage } from "../modules/coap/message.js";
import { notifyMessage, registerMessage } from "./lwm2m-messages.js";

/** A platform-free workload: `run(n)` performs n operations. Both engines run the same code. */
export interface Workload {
  readonly name: string;
  readonly unit: string;
  setup(): (iterations: number) => void;
}

/** Encodes and decodes one CoAP message per iteration. */
function coapRoundTrip(name: string, build: () => CoapMessage): Workload {
  return {
    name,
    unit: "round trips",
    setup() {
      const message = build();
      return (iterations: number) => {
        for (let i = 0; i < iterations; i++) {
          message.messageId = i & 0xffff;
          if (!decodeMessage(encodeMessage(message)).ok) throw new Error("round trip failed");
        }
      };
    },
  };
}

export const WORKLOADS: readonly Workload[] = Object.freeze([
  coapRoundTrip("coap-encode-decode-register", registerMessage),
  coapRoundTrip("coap-encode-decode-notify", notifyMessage),
  {
    name: "crc32-4KiB",
    unit: "blocks",
    setup() {
      const block = new Uint8Array(4096).map((_, i) => (i * 31) & 0xff);
      let sink = 0;
      return (iterations: number) => {
        for (let i = 0; i < iterations; i++) sink ^= crc32(block);
        if (sink === 0.5) throw new Error("unreachable");
      };
    },
  },
  {
    name: "memory-budget-alloc-release",
    unit: "pairs",
    setup() {
      const budget = new MemoryBudget([
        { blockSize: 64, blocks: 32 },
        { blockSize: 1280, blocks: 8 },
      ]);
      return (iterations: number) => {
        for (let i = 0; i < iterations; i++) budget.release(budget.allocate(i & 1 ? 40 : 1000, "bench"));
      };
    },
  },
  {
    name: "firmware-storage-write-1KiB",
    unit: "writes",
    setup() {
      const storage = new FlashFirmwareStorage(new MemoryBlockDevice(4096 * 66, 4096));
      storage.init();
      const chunk = new Uint8Array(1024).fill(0x5a);
      let offset = 0;
      storage.beginDownload();
      return (iterations: number) => {
        for (let i = 0; i < iterations; i++) {
          if (offset + chunk.length > storage.capacity) {
            storage.beginDownload();
            offset = 0;
          }
          storage.write(offset, chunk);
          offset += chunk.length;
        }
      };
    },
  },
]);

export interface Measurement {
  readonly bench: string;
  readonly unit: string;
  readonly iterations: number;
  readonly ms: number;
  readonly perSecond: number;
}

/** Runs each workload for at least `minMs`, doubling the iteration count until it does. */
export function measureAll(now: () => number, minMs: number): Measurement[] {
  const results: Measurement[] = [];
  for (const workload of WORKLOADS) {
    const run = workload.setup();
    run(10); // warm-up
    let iterations = 16;
    for (;;) {
      const start = now();
      run(iterations);
      const ms = now() - start;
      if (ms >= minMs || iterations > 1e8) {
        results.push({ bench: workload.name, unit: workload.unit, iterations, ms, perSecond: Math.round((iterations * 1000) / Math.max(ms, 0.001)) });
        break;
      }
      iterations *= 2;
    }
  }
  return results;
}
