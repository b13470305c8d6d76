/**
 * The development server's console (commands on standard input), in `npm
 * run dev-server` and in `npm start`.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILD_ROOT } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";

const CLI = path.join(BUILD_ROOT, "tools", "dev-server", "cli.js");
const START = path.join(BUILD_ROOT, "tools", "start.js");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-console-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A program with a console on its standard input: type() sends a line and resolves with the output that follows once it matches. */
class Console {
  readonly child: ChildProcess;
  output = "";
  private mark = 0;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
  }

  async waitFor(pattern: RegExp, ms = 20000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = pattern.exec(this.output.slice(this.mark));
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`${pattern} did not appear; output:\n${this.output}`);
      await wait(10);
    }
  }

  /** Types a line; resolves with what followed it, once `answer` matches. */
  async type(line: string, answer: RegExp): Promise<string> {
    this.mark = this.output.length;
    this.child.stdin!.write(`${line}\n`);
    await this.waitFor(answer);
    return this.output.slice(this.mark);
  }

  async exit(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    return new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }
}

afterAll(() => {
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("defect 9: the dev-server console", () => {
  let cli: Console;
  let client: LwM2mClient;
  const commands: string[] = [];

  beforeAll(async () => {
    cli = new Console([CLI, "--coap-port", "0", "--http-port", "0", "--auto-observe", "none"]);
    const port = Number((await cli.waitFor(/LwM2M server on coap:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const store = createStandardStore();
    const device = store.get(3)!.createInstance(0);
    device.set(0, "Console Example");
    device.set(9, 90);
    device.set(14, "+01:00");
    store.get(19)!.createInstance(0).set(0, new Map([[0, new Uint8Array(0)]]));
    const downlink = store.get(19)!.createInstance(1);
    downlink.set(0, new Map([[0, new Uint8Array(0)]]));
    downlink.bind(0, {
      write: (value) => {
        const data = value instanceof Map ? value.get(0) : value;
        if (data instanceof Uint8Array) commands.push(Buffer.from(data).toString());
      },
    });
    client = new LwM2mClient({ endpointName: "con1", transport: new UdpTransport(platform.net), time: platform.time, random: platform.random, servers: [{ uri: `coap://127.0.0.1:${port}`, lifetime: 300 }], store });
    client.start();
    await cli.waitFor(/registered con1/);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => client.stop(resolve));
    cli.child.stdin!.write("quit\n");
    await cli.exit();
  });

  test("defect 9: read without a path is a usage error, not a crash", async () => {
    const answer = await cli.type("read con1", /usage: /);
    expect(answer).toContain("read: missing arguments\nusage: read EP PATH [FORMAT] [--timeout S]");
    expect(answer).not.toMatch(/Cannot read properties/);
    expect(await cli.type("read con1 /x/0", /usage: /)).toContain(`read: "/x/0" is not an LwM2M path`);
    expect(await cli.type("help read", /usage: /)).toContain("usage: read EP PATH [FORMAT] [--timeout S]");
  });

  test("defect 9: read with a format: a number is used; a name gives no NaN but the format or a clear message", async () => {
    expect(await cli.type("read con1 /3/0/9 110", /2\.05/)).toContain("2.05 /3/0/9=90");
    const named = await cli.type("read con1 /3/0 senml-json", /\n/);
    expect(named).not.toMatch(/NaN/);
    // Until the shared table of format names is merged the console says which numbers to give; after, it reads.
    expect(named).toMatch(/^(2\.05 \/3\/0\/0="Console Example"|read: unknown format "senml-json": give a Content-Format number \(.*110 senml-json)/);
  });

  test("defect 9: cmd takes the whole text; the expiry only as --expires S", async () => {
    const queued = await cli.type("cmd con1 set temp 25", /command #(\d+) queued/);
    const id = /command #(\d+) queued/.exec(queued)![1];
    await cli.waitFor(new RegExp(`command #${id} to con1: success`));
    expect(commands).toContain("set temp 25");
    // For a device not registered yet, the command waits: its expiry shows.
    const later = /command #(\d+) queued/.exec(await cli.type("cmd later set temp --expires 25", /command #\d+ queued/))![1];
    expect(await cli.type("commands", new RegExp(`#${later} later`))).toMatch(new RegExp(`#${later} later waiting, expires in 2[45] s`));
    expect(await cli.type("cmd con1 x --expires soon", /usage: /)).toContain('--expires must be a number of seconds above 0 and at most 2592000, got "soon"');
  });

  test("defect 9: create: values typed by the object's definition, or a payload as --hex", async () => {
    expect(await cli.type("create con1 /19/7 0=hello", /\d\.\d\d/)).toMatch(/^2\.01/);
    expect(await cli.type("read con1 /19/7/0 11542", /\d\.\d\d/)).toContain(`/19/7/0/0=${JSON.stringify({ hex: Buffer.from("hello").toString("hex") })}`);
    expect(await cli.type("create con1 /19", /\d\.\d\d/)).toMatch(/^2\.01/);
    expect(await cli.type("create con1 /19/8 --hex 0008 --format 11542", /\d\.\d\d/)).toMatch(/^2\.01/);
    expect(await cli.type("create con1 /19/9 99=x", /usage: /)).toContain("resource 99 of object 19 is unknown");
    expect(await cli.type("create con1", /usage: /)).toContain("usage: create EP PATH [RES=VALUE...] [--hex HEX --format F] [--timeout S]");
  });

  test("defect 9: --log is an option (with a clear message for a bad level) and a console command", async () => {
    expect(await cli.type("log", /log level/)).toContain("log level warn");
    expect(await cli.type("log debug", /log level/)).toContain("log level debug");
    expect(await cli.type("log loud", /usage: /)).toContain('"loud" is not a log level');
    for (const [args, message] of [
      [["--log"], "dev-server: --log needs a value"],
      [["--log", "loud"], 'dev-server: --log needs a level: error, warn, info, debug or trace; got "loud"'],
    ] as const) {
      const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
      expect(result.stderr).toContain(message);
      expect(result.status).toBe(2);
    }
    const ok = new Console([CLI, "--log=debug", "--coap-port", "0", "--http-port", "0"]);
    await ok.waitFor(/LwM2M server on/);
    expect(await ok.type("log", /log level/)).toContain("log level debug");
    ok.child.stdin!.write("quit\n");
    expect(await ok.exit()).toBe(0);
  });
});

describe("defect 9: npm start has the server's console", () => {
  test("defect 9: clients, read and quit on npm start's standard input", async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "start-console-"));
    const run = new Console([START, "--state-dir", state, "--dev-server-port", "0", "--http-port", "0"]);
    try {
      await run.waitFor(/\[server\] registered xs-lwm2m-demo/);
      expect(await run.type("clients", /xs-lwm2m-demo 127\.0\.0\.1/)).toMatch(/xs-lwm2m-demo 127\.0\.0\.1:\d+ lt=300 b=U lwm2m=1\.1 udp/);
      expect(await run.type("read xs-lwm2m-demo /3/0/0", /2\.05/)).toMatch(/2\.05 /);
      expect(await run.type("read xs-lwm2m-demo", /usage: /)).toContain("usage: read EP PATH");
      run.child.stdin!.write("quit\n");
      expect(await run.exit()).toBe(0);
      expect(run.output).toMatch(/\[server\] xs-lwm2m-demo deregistered/);
    } finally {
      if (run.child.exitCode === null) run.child.kill("SIGKILL");
      fs.rmSync(state, { recursive: true, force: true });
    }
  }, 40000);
});
