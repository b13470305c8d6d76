import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Two connected pseudo-terminals made by socat: what one end writes, the other reads. */
export interface PtyPair {
  /** The end the firmware opens as its UART. */
  readonly devicePath: string;
  /** The end the modem emulator opens. */
  readonly modemPath: string;
  /** Stops socat and removes the links; resolves once socat has exited. */
  close(): Promise<void>;
}

/**
 * Starts `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B` and waits until
 * both links exist. The links live in a fresh temporary folder unless `dir`
 * is given. socat keeps both masters, so either end may be closed and opened
 * again.
 */
export async function createPtyPair(options: { dir?: string; timeoutMs?: number } = {}): Promise<PtyPair> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "modem-pty-"));
  const ownsDir = options.dir === undefined;
  const devicePath = path.join(dir, "device");
  const modemPath = path.join(dir, "modem");
  for (const link of [devicePath, modemPath]) fs.rmSync(link, { force: true });
  // A process group of its own: Ctrl-C in a terminal reaches the whole foreground group, and the line
  // must outlive it until the firmware has deregistered through it. close() (or this process's exit) ends it.
  const child = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${modemPath}`], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const killOnExit = () => {
    if (!exited) child.kill();
  };
  process.once("exit", killOnExit);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  let exited = false;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.on("exit", () => {
      exited = true;
      resolve();
    });
    child.on("error", (error) => {
      spawnError = error;
      exited = true;
      resolve();
    });
  });
  const cleanup = () => {
    for (const link of [devicePath, modemPath]) fs.rmSync(link, { force: true });
    if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  // socat writes "starting data transfer loop" once both ptys exist and it polls them.
  while (!(fs.existsSync(devicePath) && fs.existsSync(modemPath) && stderr.includes("starting data transfer loop"))) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill();
      cleanup();
      const why = spawnError ? `${spawnError.message} (apt-get install socat)` : exited ? `socat exited: ${stderr.trim()}` : "timed out";
      throw new Error(`cannot create a pty pair: ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  let closing: Promise<void> | undefined;
  return {
    devicePath,
    modemPath,
    close() {
      closing ??= (async () => {
        process.removeListener("exit", killOnExit);
        if (!exited) child.kill();
        await exit;
        cleanup();
      })();
      return closing;
    },
  };
}
