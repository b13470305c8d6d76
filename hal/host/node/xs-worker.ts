import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";

/** The repository root: build/hal/host/node/ is four folders below it. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

export interface XsnapWorkerBinary {
  readonly path: string;
  /** The worker links the DTLS binding (modules/dtls), built by tools/native/build-xs-worker.sh. */
  readonly dtls: boolean;
  /**
   * The worker links the crypto binding (modules/crypto) too. A DTLS worker
   * built before modules/crypto existed lacks it; `npm run build:worker` adds it.
   */
  readonly crypto: boolean;
  /** Why the DTLS worker is not there, as the install step recorded it. */
  readonly missing?: string;
}

/**
 * The worker to run: the one with the DTLS binding when `npm install` could
 * build it (XS_DTLS_WORKER=off forces the stock one), else @agoric/xsnap's own.
 */
export function xsnapWorkerBinary(): XsnapWorkerBinary {
  const platformDir = process.platform === "darwin" ? "mac" : "lin";
  const dtlsWorker = path.join(REPO_ROOT, "build-native", "xsnap-dtls", "bin", platformDir, "release", "xsnap-worker");
  if (process.env["XS_DTLS_WORKER"] !== "off" && fs.existsSync(dtlsWorker)) return { path: dtlsWorker, dtls: true, crypto: linksCrypto(dtlsWorker) };
  const status = path.join(REPO_ROOT, "build-native", "xsnap-dtls.status");
  const missing = fs.existsSync(status) ? fs.readFileSync(status, "utf8").trim() : "it was not built (npm run build:worker)";
  return { path: stockWorkerPath(platformDir), dtls: false, crypto: false, missing };
}

/** A host function of modules/crypto/crypto-xs.c; the worker exports its symbols (-rdynamic). */
const CRYPTO_SYMBOL = Buffer.from("xs_crypto_verify_p256\0");
let cryptoProbe: { readonly file: string; readonly mtimeMs: number; readonly found: boolean } | undefined;

function linksCrypto(worker: string): boolean {
  const mtimeMs = fs.statSync(worker).mtimeMs;
  if (cryptoProbe?.file !== worker || cryptoProbe.mtimeMs !== mtimeMs) {
    cryptoProbe = { file: worker, mtimeMs, found: fs.readFileSync(worker).includes(CRYPTO_SYMBOL) };
  }
  return cryptoProbe.found;
}

/** Path of the xsnap-worker binary the host runs (see xsnapWorkerBinary). */
export function xsnapWorkerPath(): string {
  return xsnapWorkerBinary().path;
}

/** Path of the xsnap-worker binary that `npm install` builds from @agoric/xsnap. */
function stockWorkerPath(platformDir: string): string {
  const require = createRequire(import.meta.url);
  const packageDir = path.dirname(require.resolve("@agoric/xsnap/package.json"));
  const binary = path.join(packageDir, "xsnap-native", "xsnap", "build", "bin", platformDir, "release", "xsnap-worker");
  if (!fs.existsSync(binary)) {
    throw new Error(`XS engine not built: ${binary} is missing. Run "npm install" (it compiles XS; it needs make and a C compiler).`);
  }
  return binary;
}

/** Answers a request that firmware in XS made with issueCommand(). */
export type RequestHandler = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export interface XsMeter {
  readonly compute?: number;
  readonly allocate?: number;
  readonly currentHeapCount?: number;
  readonly [key: string]: unknown;
}

export interface XsReply {
  readonly meter: XsMeter;
  readonly payload: Uint8Array;
}

/** How the worker process ended. */
export interface XsWorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** "signal SIGKILL", "exit code 3". */
export function describeExit(exit: XsWorkerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

interface PendingCommand {
  readonly resolve: (reply: XsReply) => void;
  readonly reject: (error: Error) => void;
}

/**
 * One XS machine in an xsnap-worker process, driven through the worker's
 * netstring pipes (fd 3: to the worker, fd 4: from it). Commands run one at a
 * time; while one runs, the worker may call back with issueCommand(), which
 * the request handler answers. Events sent with deliver() are queued and
 * passed in, in order, whenever the worker is idle.
 */
export class XsWorker {
  private readonly child: ChildProcess;
  private readonly toWorker: Writable;
  private readonly handler: RequestHandler;
  private readonly queue: { command: string; body: Uint8Array; pending: PendingCommand }[] = [];
  private current: PendingCommand | undefined;
  private input: Buffer = Buffer.alloc(0);
  private hasExited = false;
  private exitError: Error | undefined;
  /** Resolves with the exit code when the worker process ends. */
  readonly exit: Promise<number | null>;
  /** Resolves with the exit code and signal when the worker process ends. */
  readonly exited: Promise<XsWorkerExit>;
  /** Kills the worker when this process exits, for whatever reason, so it is never left behind. */
  private readonly killOnExit = () => this.kill();

  constructor(options: { cwd: string; handler: RequestHandler; stdout?: "inherit" | "ignore" }) {
    this.handler = options.handler;
    // The worker leads its own process group (detached), so a terminal's Ctrl-C, which is SIGINT
    // to the terminal's foreground process group, reaches only this process: it decides when the
    // worker ends (after the firmware has stopped), and ends it when it exits itself.
    this.child = spawn(xsnapWorkerPath(), [], {
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", options.stdout ?? "inherit", "inherit", "pipe", "pipe"],
    });
    process.on("exit", this.killOnExit);
    this.toWorker = this.child.stdio[3] as Writable;
    const fromWorker = this.child.stdio[4] as Readable;
    fromWorker.on("data", (chunk: Buffer) => this.receive(chunk));
    this.toWorker.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.hasExited = true;
        process.removeListener("exit", this.killOnExit);
        this.exitError = new Error(`xsnap-worker exited (code ${code}, signal ${signal})`);
        this.current?.reject(this.exitError);
        this.current = undefined;
        for (const entry of this.queue.splice(0)) entry.pending.reject(this.exitError);
        resolve({ code, signal });
      });
    });
    this.exit = this.exited.then((exit) => exit.code);
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** The worker's process id (it is also its process group id). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs a module file (absolute path) and its imports. */
  loadModule(file: string): Promise<XsReply> {
    return this.enqueue("m", new TextEncoder().encode(file));
  }

  /** Evaluates a script in the global scope. */
  evaluate(source: string): Promise<XsReply> {
    return this.enqueue("e", new TextEncoder().encode(source));
  }

  /** Passes an event to globalThis.handleCommand() in XS. */
  deliver(body: Uint8Array): Promise<XsReply> {
    return this.enqueue("?", body);
  }

  /** Resolves when no command is running or queued. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.hasExited || (!this.current && this.queue.length === 0) ? resolve() : setImmediate(check));
      check();
    });
  }

  /** Asks the worker to quit and waits for it. */
  async close(): Promise<void> {
    if (this.hasExited) return;
    this.toWorker.end();
    const timer = setTimeout(() => this.kill(), 2000);
    await this.exit;
    clearTimeout(timer);
  }

  /** Kills the worker's process group at once. */
  kill(): void {
    if (this.hasExited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
  }

  private enqueue(command: string, body: Uint8Array): Promise<XsReply> {
    if (this.hasExited) return Promise.reject(this.exitError ?? new Error("xsnap-worker is not running"));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, body, pending: { resolve, reject } });
      this.pump();
    });
  }

  private pump(): void {
    if (this.current || this.hasExited) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next.pending;
    this.writeNetstring(next.command, next.body);
  }

  private writeNetstring(command: string, body: Uint8Array): void {
    const length = body.length + 1;
    this.toWorker.write(Buffer.concat([Buffer.from(`${length}:${command}`), body, Buffer.from(",")]));
  }

  private receive(chunk: Buffer): void {
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    for (;;) {
      const colon = this.input.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.input.subarray(0, colon).toString("latin1"));
      if (!Number.isInteger(length)) throw new Error("xsnap-worker sent a malformed netstring");
      if (this.input.length < colon + 1 + length + 1) return;
      const message = this.input.subarray(colon + 1, colon + 1 + length);
      this.input = this.input.subarray(colon + 1 + length + 1);
      this.dispatch(Buffer.from(message));
    }
  }

  private dispatch(message: Buffer): void {
    const kind = String.fromCharCode(message[0] ?? 0);
    const rest = message.subarray(1);
    if (kind === "?") {
      Promise.resolve()
        .then(() => this.handler(new Uint8Array(rest)))
        .then(
          (reply) => this.writeNetstring("/", reply),
          (error: unknown) => {
            process.stderr.write(`host bridge handler failed: ${String(error)}\n`);
            this.writeNetstring("/", new Uint8Array(0));
          },
        );
      return;
    }
    const pending = this.current;
    this.current = undefined;
    if (kind === ".") {
      const { meter, payload } = splitMeter(rest);
      pending?.resolve({ meter, payload });
    } else if (kind === "!") {
      pending?.reject(new Error(`uncaught exception in XS: ${rest.toString("utf8") || "(no message; see stderr)"}`));
    } else {
      pending?.reject(new Error(`unexpected message from xsnap-worker: ${JSON.stringify(kind)}`));
    }
    this.pump();
  }
}

/** The worker prefixes ok replies with its meter JSON object. */
function splitMeter(rest: Buffer): { meter: XsMeter; payload: Uint8Array } {
  if (rest[0] !== 0x7b) return { meter: {}, payload: new Uint8Array(rest) };
  let depth = 0;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === 0x7b) depth++;
    else if (rest[i] === 0x7d && --depth === 0) {
      return { meter: JSON.parse(rest.subarray(0, i + 1).toString("utf8")) as XsMeter, payload: new Uint8Array(rest.subarray(i + 1)) };
    }
  }
  return { meter: {}, payload: new Uint8Array(rest) };
}
