import { describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * Device code must not touch Node: it is type-checked here with no Node
 * typings at all (plain ES2022 plus, for the Moddable port, the Moddable
 * typings), so any Node module, global (process, Buffer, require,
 * setTimeout...) or browser global fails the check. The conformance suite
 * running inside XS proves the same at run time.
 */
const ROOT = path.resolve(process.cwd());

function filesUnder(folder: string, skip: (file: string) => boolean = () => false): string[] {
  const absolute = path.join(ROOT, folder);
  if (!fs.existsSync(absolute)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(absolute, { withFileTypes: true })) {
    const relative = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(relative, skip));
    else if (entry.name.endsWith(".ts") && !skip(relative)) found.push(relative);
  }
  return found;
}

const MODDABLE_TYPINGS = ["xs.d.ts", "mc/config.d.ts", "timer.d.ts", "time.d.ts", "preference.d.ts", "net.d.ts", "embedded_io/_common.d.ts", "embedded_io/socket/udp.d.ts", "embedded_io/socket/tcp.d.ts", "embedded_io/serial.d.ts", "socket.d.ts", "http.d.ts"].map(
  (file) => path.join("node_modules", "@moddable", "typings", file),
);

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts"],
  types: [],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  baseUrl: ROOT,
  paths: {
    "hal/port": ["./hal/moddable/port.ts"],
    "hal/moddable/port": ["./hal/moddable/port.ts"],
    rng: ["./hal/moddable/typings/rng.d.ts"],
    "dtls/engine": ["./modules/dtls/engine.d.ts"],
    "crypto/engine": ["./modules/crypto/engine.d.ts"],
  },
};

function check(files: string[], port = "./hal/moddable/port.ts"): string[] {
  const options = { ...OPTIONS, paths: { ...OPTIONS.paths, "hal/port": [port] } };
  const program = ts.createProgram(files.map((file) => path.join(ROOT, file)), options);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file ? `${path.relative(ROOT, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}` : "";
    return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
  });
}

const isHostPort = (file: string) => file.startsWith(path.join("hal", "host"));

describe("device code uses no Node API", () => {
  test("main.ts, modules/, hal/ (platform-free) and hal/moddable/ check without Node typings", () => {
    const deviceFiles = ["main.ts", ...filesUnder("modules"), ...filesUnder("hal", isHostPort)];
    expect(deviceFiles.length).toBeGreaterThan(10);
    const problems = check([...deviceFiles, ...MODDABLE_TYPINGS]);
    expect(problems).toEqual([]);
  });

  test("the XS side of the host port and the XS conformance suites use only XS globals", () => {
    const xsFiles = [...filesUnder("hal/host/xs"), ...filesUnder("hal/host/faults"), "hal/host/bridge-frame.ts", ...filesUnder("test/conformance"), "test/xs/entry.ts"];
    const problems = check([...xsFiles, path.join("node_modules", "@moddable", "typings", "mc", "config.d.ts")], "./hal/host/xs/port.ts");
    expect(problems).toEqual([]);
  });

  test("the check catches Node APIs (control)", () => {
    const probe = path.join(ROOT, "build", "device-code-probe.ts");
    fs.mkdirSync(path.dirname(probe), { recursive: true });
    fs.writeFileSync(probe, 'import fs from "node:fs";\nexport const size = fs.statSync("x").size + Buffer.byteLength("y");\nsetTimeout(() => process.exit(0), 1);\n');
    try {
      const problems = check([path.relative(ROOT, probe)]);
      expect(problems.join("\n")).toMatch(/node:fs/);
      expect(problems.join("\n")).toMatch(/Buffer/);
      expect(problems.join("\n")).toMatch(/setTimeout|process/);
    } finally {
      fs.rmSync(probe, { force: true });
    }
  });
});
