import type { LogSink } from "../log.js";

/** Console lines through trace(): the serial console on a board, xsbug or xsbug-log in the simulator. */
export function createTraceSink(): LogSink {
  return { writeLine: (line: string) => trace(line + "\n") };
}
