// Module "hal/port" for the demo firmware (main.ts) run directly in Node by
// bench/fixed-work.ts: the Node host platform (hal/host/node), its log kept
// in memory, its stop handlers (the demo deregisters there) run on demand.
import { createNodePlatform } from "../hal/host/node/node-platform.js";
import { isLogLevel } from "../hal/log.js";
import type { CreatePlatform, Platform } from "../hal/platform.js";

let stopHandlers: ((done: () => void) => void)[] = [];
let closePlatform: (() => void) | undefined;
/** The demo's console lines (shown when the bench fails). */
export const demoLog: string[] = [];

/** config.stateDir: the folder for the platform's settings and firmware storage. */
export const createPlatform: CreatePlatform = (config) => {
  const level = config["log"];
  const platform = createNodePlatform({ stateDir: String(config["stateDir"]), logLevel: isLogLevel(level) ? level : "warn", sink: { writeLine: (line) => void demoLog.push(line) } });
  stopHandlers = [];
  closePlatform = () => platform.close();
  const port: Platform = { ...platform, onStop: (handler) => void stopHandlers.push(handler) };
  return port;
};

/** Runs the demo's stop handlers (deregistration) and closes the platform; resolves when they are done. */
export async function stopDemo(): Promise<void> {
  await Promise.all(stopHandlers.map((handler) => new Promise<void>((resolve) => handler(resolve))));
  stopHandlers = [];
  closePlatform?.();
  closePlatform = undefined;
}
