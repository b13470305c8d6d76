// @ts-check
/**
 * Runs a built program (`npm start`, `npm run dev-server`, `npm run fota`)
 * without compiling every time: `node tools/launch.mjs build/tools/start.js [args...]`
 * builds (`npm run build`) only when a source is newer than the last
 * successful build, then runs the program in this same process (signals
 * reach it directly). `--help`/`-h` never builds: it shows the help of what
 * is built.
 *
 * The build script brackets itself with `--build-begin` and `--build-end`:
 * the stamp build/.build-stamp is written only after a build succeeded,
 * with the time the build began, so a source saved during a build is seen
 * as newer next time. Sources are the files the build's tsconfig includes
 * (tsconfig.build.json), and the tsconfig files themselves.
 *
 * Plain JavaScript, run before anything is compiled.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = process.cwd();
const buildDir = path.join(root, "build");
const stamp = path.join(buildDir, ".build-stamp");
const pending = path.join(buildDir, ".build-stamp.pending");

/** Newest modification time (ms) among the build's sources; 0 when there are none. */
function newestSource() {
  const configs = ["tsconfig.json", "tsconfig.build.json"].map((name) => path.join(root, name)).filter((file) => fs.existsSync(file));
  let newest = 0;
  for (const file of configs) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  const buildConfig = path.join(root, "tsconfig.build.json");
  if (!fs.existsSync(buildConfig)) return newest;
  /** @type {{ include?: string[]; exclude?: string[] }} */
  const config = JSON.parse(fs.readFileSync(buildConfig, "utf8"));
  // Patterns as the build's tsconfig writes them: "dir/**/*.ts" or a file; node_modules (typings) is left out.
  const excluded = (config.exclude ?? []).map((pattern) => path.join(root, pattern.replace(/\/?\*\*.*$/, "")));
  const skip = (file) => excluded.some((prefix) => file === prefix || file.startsWith(prefix + path.sep));
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (skip(full)) continue;
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && full !== buildDir) walk(full);
      } else if (entry.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  for (const pattern of config.include ?? []) {
    if (pattern.startsWith("node_modules/")) continue;
    const wild = pattern.indexOf("*");
    if (wild < 0) {
      const file = path.join(root, pattern);
      if (fs.existsSync(file) && !skip(file)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
      continue;
    }
    const dir = path.join(root, pattern.slice(0, wild));
    if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) walk(dir);
  }
  return newest;
}

/** Why a build is due, or undefined when the last successful build is newer than every source. */
function staleReason() {
  if (!fs.existsSync(stamp)) return "no finished build yet";
  const built = fs.statSync(stamp).mtimeMs;
  return newestSource() > built ? "sources changed since the last build" : undefined;
}

const [first, ...rest] = process.argv.slice(2);
if (first === "--build-begin") {
  // Recorded before compiling: the stamp's time is when the sources were read.
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(pending, `${new Date().toISOString()}\n`);
} else if (first === "--build-end") {
  if (fs.existsSync(pending)) fs.renameSync(pending, stamp);
  else fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
} else if (first === "--stale") {
  // For scripts and tests: prints why a build is due, exits 1 when it is.
  const reason = staleReason();
  process.stdout.write(`${reason ?? "up to date"}\n`);
  process.exit(reason ? 1 : 0);
} else if (first === undefined || first.startsWith("-")) {
  process.stderr.write("usage: node tools/launch.mjs build/PROGRAM.js [args...] | --build-begin | --build-end | --stale\n");
  process.exit(2);
} else {
  const program = path.resolve(root, first);
  const help = rest.includes("--help") || rest.includes("-h");
  const reason = help ? undefined : staleReason();
  if (reason) {
    process.stderr.write(`[build] ${reason}: npm run build\n`);
    const build = spawnSync("npm", ["run", "--silent", "build"], { stdio: "inherit", cwd: root });
    if (build.status !== 0) {
      process.stderr.write(`[build] the build failed (${build.signal ?? `status ${build.status}`}); ${path.relative(root, program)} not started\n`);
      process.exit(build.status || 1);
    }
  }
  if (!fs.existsSync(program)) {
    process.stderr.write(`${path.relative(root, program)} is not built${help ? " (--help does not build)" : ""}: npm run build\n`);
    process.exit(1);
  }
  // The program reads its arguments from process.argv.slice(2), as when run with node directly.
  process.argv = [process.argv[0], program, ...rest];
  await import(pathToFileURL(program).href);
}
