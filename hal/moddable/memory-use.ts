import Instrumentation from "instrumentation";
import type { EngineMemoryUse } from "../platform.js";

/**
 * XS heap use from the SDK's instrumentation module, or undefined when the
 * build has no instrumentation (release builds: its map() answers undefined).
 * Called at run time: the module's native functions do not exist at preload.
 */
export function createMemoryUse(): (() => EngineMemoryUse | undefined) | undefined {
  const slotsId = Instrumentation.map("XS Slot Heap Used");
  const chunksId = Instrumentation.map("XS Chunk Heap Used");
  const stackId = Instrumentation.map("XS Stack Used");
  if (slotsId === undefined || chunksId === undefined) return undefined;
  return () => {
    const slots = Instrumentation.get(slotsId);
    const chunks = Instrumentation.get(chunksId);
    if (slots === undefined || chunks === undefined) return undefined;
    const stack = stackId === undefined ? undefined : Instrumentation.get(stackId);
    return stack === undefined ? { slots, chunks } : { slots, chunks, stack };
  };
}
