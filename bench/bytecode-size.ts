/**
 * Release bytecode per module folder: builds the project for the simulator
 * in release mode (`mcconfig -m -p lin -t build -o <dir>`, no -d) from the
 * root manifest and sums the size of the .xsb files XS compiled, grouped by
 * the project folder of each module's source (modules/<name>, hal, main).
 * The build goes to a folder under os.tmpdir() kept between runs: mcconfig
 * compiles each TypeScript module with its own tsc run (minutes the first
 * time), and make rebuilds only what changed. The module list comes from
 * the makefile mcconfig writes for this build, so .xsb files of modules that
 * no longer exist are never counted.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../hal/host/node/firmware-host.js";

/** The project checkout (build/ is one level below it). */
const REPO_ROOT = path.dirname(BUILD_ROOT);
/** The protocol stack whose size the project tracks; "dtls" (modules/dtls) and "at" (modules/at) are reported on their own. */
export const STACK_FOLDERS = Object.freeze(["coap", "lwm2m", "agent"]);
const BUILD_TIMEOUT_MS = 30 * 60 * 1000;

export type BytecodeOutcome =
  | { readonly kind: "skipped"; readonly reason: string }
  | { readonly kind: "failed"; readonly reason: string; readonly logFile: string }
  | { readonly kind: "measured"; readonly folders: Record<string, { bytes: number; modules: number }>; readonly stack: number; readonly buildSeconds: number; readonly outDir: string };

function runMcconfig(moddable: string, outDir: string, logFile: string): Promise<number | null> {
  const env = { ...process.env, MODDABLE: moddable, PATH: [path.join(REPO_ROOT, "node_modules", ".bin"), path.join(moddable, "build", "bin", "lin", "release"), process.env["PATH"] ?? ""].join(path.delimiter) };
  const log = fs.openSync(logFile, "w");
  return new Promise((resolve, reject) => {
    const child = spawn("mcconfig", ["-m", "-p", "lin", "-t", "build", "-o", outDir], { cwd: REPO_ROOT, env, stdio: ["ignore", log, log] });
    const timer = setTimeout(() => child.kill("SIGTERM"), BUILD_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      fs.closeSync(log);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fs.closeSync(log);
      resolve(code);
    });
  });
}

/** The app's folder of this build: <out>/tmp/lin/mc/release/<project folder name>. */
function appFolder(outDir: string): string | undefined {
  const release = path.join(outDir, "tmp", "lin", "mc", "release");
  if (!fs.existsSync(release)) return undefined;
  const candidates = fs.readdirSync(release).filter((name) => fs.existsSync(path.join(release, name, "makefile")));
  const chosen = candidates.find((name) => name === path.basename(REPO_ROOT)) ?? (candidates.length === 1 ? candidates[0] : undefined);
  return chosen === undefined ? undefined : path.join(release, chosen);
}

/** Which folder a module's source belongs to: modules/<name> gives <name>; hal/…, main; anything outside the project, "sdk". */
function folderOf(source: string, roots: readonly string[]): string {
  let relative: string | undefined;
  for (const root of roots) {
    const at = source.lastIndexOf(`${root}/`);
    if (at >= 0) relative = source.slice(at + root.length + 1);
  }
  if (relative === undefined) return "sdk";
  const parts = relative.split("/");
  if (parts[0] === "modules" && parts.length > 2) return parts[1]!;
  if (parts.length === 1) return path.basename(parts[0]!, path.extname(parts[0]!));
  return parts[0]!;
}

/** Sums the .xsb files the makefile builds, by the folder of their sources. */
function sizesByFolder(app: string): Record<string, { bytes: number; modules: number }> {
  const makefile = fs.readFileSync(path.join(app, "makefile"), "utf8");
  const roots = Array.from(new Set([REPO_ROOT, fs.realpathSync(REPO_ROOT)]));
  const folders: Record<string, { bytes: number; modules: number }> = {};
  for (const match of makefile.matchAll(/^\$\(MODULES_DIR\)\/(\S+\.xsb)\s*:\s*(\S+)/gm)) {
    const file = path.join(app, "modules", match[1]!);
    if (!fs.existsSync(file)) throw new Error(`${file} is in the makefile but was not built`);
    const folder = folderOf(match[2]!, roots);
    const entry = (folders[folder] ??= { bytes: 0, modules: 0 });
    entry.bytes += fs.statSync(file).size;
    entry.modules++;
  }
  return folders;
}

export async function measureReleaseBytecode(): Promise<BytecodeOutcome> {
  const moddable = process.env["MODDABLE"];
  if (!moddable) return { kind: "skipped", reason: "MODDABLE is not set (the Moddable SDK is needed to build with mcconfig)" };
  if (process.platform !== "linux") return { kind: "skipped", reason: `the bench builds for the Linux simulator (-p lin) and runs on linux only, not ${process.platform}` };
  if (!fs.existsSync(path.join(moddable, "build", "bin", "lin", "release", "mcconfig"))) return { kind: "skipped", reason: `no mcconfig under ${moddable}/build/bin/lin/release (build the SDK's tools first)` };
  const key = createHash("sha256").update(REPO_ROOT).digest("hex").slice(0, 12);
  const outDir = path.join(os.tmpdir(), `xs-lwm2m-bench-release-${key}`);
  fs.mkdirSync(outDir, { recursive: true });
  const logFile = path.join(outDir, "mcconfig.log");
  const started = Date.now();
  let code = await runMcconfig(moddable, outDir, logFile);
  if (code !== 0) {
    // A build folder left by another TypeScript or SDK version can fail (see shared/reference); start it afresh once.
    const app = appFolder(outDir);
    if (app) {
      fs.rmSync(app, { recursive: true, force: true });
      code = await runMcconfig(moddable, outDir, logFile);
    }
  }
  const buildSeconds = (Date.now() - started) / 1000;
  if (code !== 0) return { kind: "failed", reason: `mcconfig exited with ${code === null ? "a signal (timed out?)" : `code ${code}`}`, logFile };
  const app = appFolder(outDir);
  if (!app) return { kind: "failed", reason: `no app folder with a makefile under ${outDir}/tmp/lin/mc/release`, logFile };
  const folders = sizesByFolder(app);
  const stack = STACK_FOLDERS.reduce((sum, folder) => sum + (folders[folder]?.bytes ?? 0), 0);
  return { kind: "measured", folders, stack, buildSeconds, outDir };
}

/** The JSON line and the human line. */
export function describeBytecode(outcome: BytecodeOutcome): [string, string] {
  if (outcome.kind === "skipped") return [JSON.stringify({ bench: "release-bytecode", skipped: outcome.reason }), `# release bytecode per folder: skipped, ${outcome.reason}`];
  if (outcome.kind === "failed") return [JSON.stringify({ bench: "release-bytecode", failed: outcome.reason, log: outcome.logFile }), `# release bytecode per folder: the release build failed (${outcome.reason}); see ${outcome.logFile}`];
  const order = ["coap", "lwm2m", "agent", "dtls", "at", "fota", "crypto", "app", "hal", "main"];
  const names = [...order.filter((name) => outcome.folders[name]), ...Object.keys(outcome.folders).filter((name) => !order.includes(name)).sort()];
  const bytes = Object.fromEntries(names.map((name) => [name, outcome.folders[name]!.bytes]));
  const modules = Object.fromEntries(names.map((name) => [name, outcome.folders[name]!.modules]));
  const json = { bench: "release-bytecode", unit: "bytes of .xsb (mcconfig -m -p lin, release)", ...bytes, stack: outcome.stack, stackFolders: STACK_FOLDERS, modules, buildSeconds: Number(outcome.buildSeconds.toFixed(1)) };
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const list = names.map((name) => `${name} ${kb(outcome.folders[name]!.bytes)} (${outcome.folders[name]!.modules})`).join(", ");
  const human = `# release bytecode per folder (.xsb, modules in parentheses): ${list}; stack (${STACK_FOLDERS.join("+")}) ${kb(outcome.stack)}; build ${outcome.buildSeconds.toFixed(1)} s in ${outcome.outDir} ("sdk" = Moddable SDK modules and mc/config)`;
  return [JSON.stringify(json), human];
}
