/**
 * Start-up of `npm run dev-server` and `npm start`: ports in use end the
 * program with a clear message and status; the server binds the address it
 * prints (--address); the programs are not rebuilt on every start, and
 * --help never builds.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";

const ROOT = path.resolve(BUILD_ROOT, "..");
const CLI = path.join(BUILD_ROOT, "tools", "dev-server", "cli.js");
const START = path.join(BUILD_ROOT, "tools", "start.js");
const temporary: string[] = [];

function temporaryDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-startup-"));
  temporary.push(dir);
  return dir;
}

/** Runs a program to its end (it must end by itself within 20 s); npm's own warnings about this machine's configuration are left out. */
function run(args: string[], options: { cwd?: string } = {}): { status: number | null; output: string; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  const result = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 20000, input: "", env, ...options });
  const stderr = result.stderr.replace(/^npm warn .*\n/gm, "");
  return { status: result.status, output: `${result.stdout}${stderr}`, stdout: result.stdout, stderr };
}

afterAll(() => {
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("defect 8: start-up", () => {
  let udp: dgram.Socket;
  let tcp: net.Server;
  let udpPort = 0;
  let tcpPort = 0;

  beforeAll(async () => {
    udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    udpPort = udp.address().port;
    tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    tcpPort = (tcp.address() as net.AddressInfo).port;
  });

  afterAll(() => {
    udp.close();
    tcp.close();
  });

  test("defect 8: npm run dev-server: a CoAP port in use fails with a message naming --coap-port and status 1", () => {
    const result = run([CLI, "--coap-port", String(udpPort), "--http-port", "0"]);
    expect(result.output).toContain(`dev-server: UDP port ${udpPort} on 127.0.0.1 is in use (another server running?); pick another with --coap-port N (0 picks a free one)`);
    expect(result.output).not.toMatch(/LwM2M server on/);
    expect(result.status).toBe(1);
  });

  test("defect 8: npm run dev-server: an HTTP port in use fails with a message naming --http-port and status 1, no stack trace", () => {
    const result = run([CLI, "--coap-port", "0", "--http-port", String(tcpPort)]);
    expect(result.output).toContain(`dev-server: TCP port ${tcpPort} on 127.0.0.1 is in use (another server running?); pick another with --http-port N, or --http-port 0 to run without the HTTP API`);
    expect(result.output).not.toMatch(/^\s+at /m);
    expect(result.status).toBe(1);
  });

  test("defect 8: npm start: the development server's CoAP or HTTP port in use fails before the firmware starts, status 1", () => {
    const stateDir = temporaryDir();
    const coap = run([START, "--state-dir", stateDir, "--dev-server-port", String(udpPort), "--http-port", "0"]);
    expect(coap.output).toContain(`npm start: UDP port ${udpPort} on 127.0.0.1 is in use (another server running?); pick another with --dev-server-port N`);
    expect(coap.output).not.toMatch(/\[host\] running the firmware/);
    expect(coap.status).toBe(1);
    const httpInUse = run([START, "--state-dir", stateDir, "--dev-server-port", "0", "--http-port", String(tcpPort)]);
    expect(httpInUse.output).toContain(`npm start: TCP port ${tcpPort} on 127.0.0.1 is in use`);
    expect(httpInUse.output).not.toMatch(/\[host\] running the firmware/);
    expect(httpInUse.status).toBe(1);
  });

  test("defect 8: the server binds the address it prints (--address; 127.0.0.1 by default), not every interface", async () => {
    for (const args of [[], ["--address", "127.0.0.1"]]) {
      const child = spawn(process.execPath, [CLI, "--coap-port", "0", "--http-port", "0", ...args], { stdio: ["pipe", "pipe", "pipe"] });
      let output = "";
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      try {
        const deadline = Date.now() + 15000;
        while (!/LwM2M server on coap:\/\/127\.0\.0\.1:(\d+)/.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        const port = Number(/LwM2M server on coap:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]);
        // Bound to 127.0.0.1 alone, the same port on another loopback address is free (not so with 0.0.0.0).
        const other = dgram.createSocket("udp4");
        const bound = await new Promise<boolean>((resolve) => {
          other.once("error", () => resolve(false));
          other.bind(port, "127.0.0.2", () => resolve(true));
        });
        other.close();
        expect(bound).toBe(true);
      } finally {
        child.stdin!.write("quit\n");
        await new Promise((resolve) => child.on("exit", resolve));
      }
    }
    const bad = run([CLI, "--address", "localhost-ish"]);
    expect(bad.output).toContain('dev-server: --address needs a numeric IP address (127.0.0.1, 0.0.0.0 for every interface, ::1), got "localhost-ish"');
    expect(bad.status).toBe(2);
  });

  test("defect 8: npm start --dev-server-address: the server binds it and the firmware registers there", async () => {
    const stateDir = temporaryDir();
    const child = spawn(process.execPath, [START, "--state-dir", stateDir, "--dev-server-address", "127.0.0.2", "--dev-server-port", "0", "--http-port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20000;
      while (!/\[server\] registered xs-lwm2m-demo/.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(output).toMatch(/\[server\] development LwM2M server \(strict mode\) on coap:\/\/127\.0\.0\.2:\d+/);
      expect(output).toMatch(/\[server\] registered xs-lwm2m-demo/);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    const ipv6 = run([START, "--dev-server-address", "::1"]);
    expect(ipv6.output).toContain('npm start: --dev-server-address needs an IPv4 address (the firmware on the host speaks IPv4), got "::1"');
    expect(ipv6.status).toBe(2);
  }, 40000);

  test("defect 8: npm start, npm run dev-server and npm run fota build only when sources are newer than the last build", () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts["start"]).toBe("exec node tools/launch.mjs build/tools/start.js");
    expect(scripts["dev-server"]).toBe("exec node tools/launch.mjs build/tools/dev-server/cli.js");
    expect(scripts["fota"]).toBe("exec node tools/launch.mjs build/tools/fota.js");
    expect(scripts["build"]).toMatch(/^node tools\/launch\.mjs --build-begin && .* && node tools\/launch\.mjs --build-end$/);

    // A package laid out as this one, with a build that counts its runs.
    const dir = temporaryDir();
    fs.mkdirSync(path.join(dir, "tools"));
    fs.mkdirSync(path.join(dir, "src"));
    fs.copyFileSync(path.join(ROOT, "tools", "launch.mjs"), path.join(dir, "tools", "launch.mjs"));
    fs.writeFileSync(path.join(dir, "tsconfig.build.json"), JSON.stringify({ include: ["src/**/*.ts"] }));
    fs.writeFileSync(path.join(dir, "src", "prog.ts"), "export {};\n");
    fs.writeFileSync(
      path.join(dir, "make.mjs"),
      [
        'import fs from "node:fs";',
        'fs.appendFileSync("builds.log", "build\\n");',
        'if (fs.existsSync("FAIL")) process.exit(3);',
        'fs.mkdirSync("build/src", { recursive: true });',
        'fs.writeFileSync("build/src/prog.js", "console.log(`ran ${process.argv.slice(2).join(\\" \\")}`);\\n");',
      ].join("\n"),
    );
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "launch-fixture", version: "1.0.0", private: true, type: "module", scripts: { build: "node tools/launch.mjs --build-begin && node make.mjs && node tools/launch.mjs --build-end" } }));
    const builds = () => (fs.existsSync(path.join(dir, "builds.log")) ? fs.readFileSync(path.join(dir, "builds.log"), "utf8").split("\n").filter(Boolean).length : 0);
    const launch = (...args: string[]) => run([path.join("tools", "launch.mjs"), path.join("build", "src", "prog.js"), ...args], { cwd: dir });
    const touch = (seconds: number) => {
      const when = new Date(Date.now() + seconds * 1000);
      fs.utimesSync(path.join(dir, "src", "prog.ts"), when, when);
    };

    // --help never builds, even with nothing built.
    const helpUnbuilt = launch("--help");
    expect(helpUnbuilt.output).toContain("build/src/prog.js is not built (--help does not build): npm run build");
    expect(helpUnbuilt.status).toBe(1);
    expect(builds()).toBe(0);

    expect(launch("a", "b")).toMatchObject({ status: 0, stdout: "ran a b\n", stderr: "[build] no finished build yet: npm run build\n" });
    expect(builds()).toBe(1);
    // Up to date: no build.
    expect(launch("again")).toMatchObject({ status: 0, stdout: "ran again\n", stderr: "" });
    expect(builds()).toBe(1);
    // A source newer than the build: one build.
    touch(60);
    expect(launch("edited")).toMatchObject({ status: 0, stdout: "ran edited\n", stderr: "[build] sources changed since the last build: npm run build\n" });
    expect(builds()).toBe(2);
    // Stale, but --help: no build, the help of what is built.
    touch(120);
    expect(launch("--help")).toMatchObject({ status: 0, stdout: "ran --help\n", stderr: "" });
    expect(builds()).toBe(2);
    // A failed build does not count as a build: the program does not run, and the next start builds again.
    fs.writeFileSync(path.join(dir, "FAIL"), "");
    const failed = launch("x");
    expect(failed.status).toBe(3);
    expect(failed.output).toContain("[build] the build failed (status 3); build/src/prog.js not started");
    fs.rmSync(path.join(dir, "FAIL"));
    expect(launch("y")).toMatchObject({ status: 0, stdout: "ran y\n", stderr: "[build] sources changed since the last build: npm run build\n" });
    expect(builds()).toBe(4);
  });
});
