import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { decodeMessage, encodeMessage } from "../../modules/coap/codec.js";
import { ContentFormat, MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { addUriQuery, createMessage, encodeUint, addOption, getLocationPath, getUintOption, setUintOption, setUriPath, utf8Decode, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer } from "../../tools/dev-server/server.js";
import type { Violation } from "../../tools/dev-server/strict/violations.js";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-server-strict-test-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits for a condition; the deadline only keeps a broken test from hanging. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

afterAll(() => {
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const QUOTED = '</>;rt="oma.lwm2m";ct=112,</1/0>,</3/0>';
const UNQUOTED = "</>;rt=oma.lwm2m;ct=112,</1/0>,</3/0>";

/** A hand-made LwM2M client: raw CoAP datagrams over node:dgram. */
class RawClient {
  readonly inbox: CoapMessage[] = [];
  private readonly socket = dgram.createSocket("udp4");
  private messageId = 0x2000;
  private tokenCounter = 0x10000000;

  constructor(private readonly serverPort: number) {}

  open(): Promise<void> {
    this.socket.on("message", (data) => {
      const decoded = decodeMessage(new Uint8Array(data));
      if (decoded.ok) this.inbox.push(decoded.message);
    });
    return new Promise((resolve) => this.socket.bind(0, "127.0.0.1", () => resolve()));
  }

  close(): void {
    this.socket.close();
  }

  nextMid(): number {
    return this.messageId++;
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.send(bytes, this.serverPort, "127.0.0.1");
  }

  send(message: CoapMessage): Uint8Array {
    const bytes = encodeMessage(message);
    this.sendBytes(bytes);
    return bytes;
  }

  /** A CON request with a fresh token (and a fresh Message ID unless given). */
  request(method: number, uriPath: string, options: { query?: string[]; format?: number; payload?: string; mid?: number } = {}): CoapMessage {
    const token = Uint8Array.of(...encodeUint(this.tokenCounter++));
    const message = createMessage(MessageType.Confirmable, method, options.mid ?? this.nextMid(), token);
    setUriPath(message, uriPath);
    for (const item of options.query ?? []) addUriQuery(message, item);
    if (options.format !== undefined) setUintOption(message, OptionNumber.ContentFormat, options.format);
    if (options.payload !== undefined) message.payload = utf8Encode(options.payload);
    return message;
  }

  /** Takes the first received message that matches, waiting for it. */
  async take(matches: (message: CoapMessage) => boolean, what: string): Promise<CoapMessage> {
    await until(() => this.inbox.some(matches), what);
    return this.inbox.splice(this.inbox.findIndex(matches), 1)[0]!;
  }

  /** Sends a request and returns the server's piggybacked answer. */
  async exchange(message: CoapMessage): Promise<CoapMessage> {
    this.send(message);
    return this.take((m) => m.type === MessageType.Acknowledgement && m.messageId === message.messageId, `the answer to MID ${message.messageId}`);
  }

  register(endpoint: string, payload = QUOTED, query = [`ep=${endpoint}`, "lt=300", "lwm2m=1.1", "b=U"]): Promise<CoapMessage> {
    return this.exchange(this.request(Method.POST, "/rd", { query, format: ContentFormat.LinkFormat, payload }));
  }

  /** A response to a server request: piggybacked (ACK) or separate (CON). */
  respond(to: CoapMessage, how: "ack" | "con", fields: { code?: number; observe?: number; format?: number; payload?: string }): Uint8Array {
    const message = createMessage(how === "ack" ? MessageType.Acknowledgement : MessageType.Confirmable, fields.code ?? ResponseCode.Content, how === "ack" ? to.messageId : this.nextMid(), to.token);
    if (fields.observe !== undefined) setUintOption(message, OptionNumber.Observe, fields.observe);
    if (fields.format !== undefined) setUintOption(message, OptionNumber.ContentFormat, fields.format);
    if (fields.payload !== undefined) message.payload = utf8Encode(fields.payload);
    return this.send(message);
  }

  /** Sends a CON response and waits for the server's ACK of it, so the server has checked it. */
  async notify(to: CoapMessage, fields: { code?: number; observe?: number; format?: number; payload?: string }): Promise<void> {
    const bytes = this.respond(to, "con", fields);
    const mid = (bytes[2]! << 8) | bytes[3]!;
    await this.take((m) => m.messageId === mid && (m.type === MessageType.Acknowledgement || m.type === MessageType.Reset), `the ACK of notification MID ${mid}`);
  }

  /** The next request the server sends to this client. */
  serverRequest(what: string): Promise<CoapMessage> {
    return this.take((m) => m.type === MessageType.Confirmable && m.code >= 1 && m.code <= 7, what);
  }
}

describe("development server, strict mode", () => {
  let server: LwM2mDevServer;
  let client: RawClient;
  let httpServer: http.Server;
  let base = "";
  const seen: Violation[] = [];
  /** Violations recorded while `action` runs. */
  async function violationsDuring(action: () => Promise<unknown>): Promise<Violation[]> {
    const before = seen.length;
    await action();
    return seen.slice(before);
  }

  beforeAll(async () => {
    server = new LwM2mDevServer({ platform, port: 0 });
    server.on("violation", (violation: Violation) => seen.push(violation));
    await until(() => server.port > 0, "the CoAP port");
    httpServer = await startHttpApi(server, 0);
    base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    client = new RawClient(server.port);
    await client.open();
  });

  afterAll(() => {
    client.close();
    httpServer.closeAllConnections();
    httpServer.close();
    server.close();
  });

  test("strict mode is the default", () => {
    expect(server.strict).toBe(true);
  });

  test("the unquoted root link </>;rt=oma.lwm2m;ct=112 is refused with 4.00 and counted", async () => {
    const countBefore = server.violations.count;
    let answer: CoapMessage | undefined;
    const found = await violationsDuring(async () => (answer = await client.register("raw-unquoted", UNQUOTED)));
    expect(answer!.code).toBe(ResponseCode.BadRequest);
    expect(utf8Decode(answer!.payload)).toContain("LwM2M TS §6.2.1");
    expect(utf8Decode(answer!.payload)).toContain("rt value must be quoted");
    expect(found).toEqual([expect.objectContaining({ endpoint: "raw-unquoted", rule: expect.stringContaining("LwM2M TS §6.2.1"), message: expect.stringContaining("</>;rt=oma.lwm2m;ct=112") })]);
    expect(server.violations.count).toBe(countBefore + 1);
    expect(server.registry.get("raw-unquoted")).toBeUndefined();
  });

  test('the quoted form </>;rt="oma.lwm2m" is accepted with zero violations, and so is an Update', async () => {
    let location: string[] = [];
    const found = await violationsDuring(async () => {
      const answer = await client.register("raw1");
      expect(answer.code).toBe(ResponseCode.Created);
      location = getLocationPath(answer);
      const update = await client.exchange(client.request(Method.POST, `/${location.join("/")}`, { query: ["lt=600", "b=U"], format: ContentFormat.LinkFormat, payload: QUOTED }));
      expect(update.code).toBe(ResponseCode.Changed);
    });
    expect(found).toEqual([]);
    expect(server.registry.get("raw1")).toMatchObject({ lifetime: 600, binding: "U", version: "1.1" });
  });

  test("an unknown query parameter is refused with 4.00 naming the rule", async () => {
    const found = await violationsDuring(async () => {
      const answer = await client.register("raw-unknown", QUOTED, ["ep=raw-unknown", "lt=300", "lwm2m=1.1", "foo=bar"]);
      expect(answer.code).toBe(ResponseCode.BadRequest);
      expect(utf8Decode(answer.payload)).toContain('unknown Register parameter "foo"');
    });
    expect(found.map((v) => v.rule)).toEqual(["LwM2M TS §6.2.1"]);
    expect(server.registry.get("raw-unknown")).toBeUndefined();
  });

  test.each([
    ["a lifetime that is not a positive integer", ["ep=r", "lt=0x10"], QUOTED, "lt must be a positive whole number"],
    ["an unknown binding", ["ep=r", "b=X"], QUOTED, "b must be one of"],
    ["an unknown LwM2M version", ["ep=r", "lwm2m=2.0"], QUOTED, "lwm2m must be one of"],
    ["ep given twice", ["ep=r", "ep=s"], QUOTED, 'parameter "ep" given more than once'],
    ["no ep", ["lt=300"], QUOTED, "ep (Endpoint Client Name) is required"],
    ["characters not allowed in ep", ["ep=a b&c"], QUOTED, "ep contains characters not allowed"],
    ["Q with a value", ["ep=r", "lwm2m=1.1", "Q=1"], QUOTED, "Q (queue mode) is a flag without a value"],
    ["the Security object", ["ep=r"], '</>;rt="oma.lwm2m",</0/0>,</3/0>', "the Security Object (/0) must not be"],
    ["a duplicated link", ["ep=r"], "</3/0>,</3/0>", "listed more than once"],
    ["ver on an instance link", ["ep=r"], "</3/0>;ver=1.1", "ver is an Object attribute"],
    ["a target that is not an object or instance", ["ep=r"], "</3/0/1>", "is not </ObjectID> or </ObjectID/InstanceID>"],
    ["whitespace between links", ["ep=r"], "</1/0>, </3/0>", "whitespace is not allowed"],
    ["an unquoted value that is not a ptoken", ["ep=r"], "</3/0>;title=a b", "must be quoted"],
    ["a bad ct value", ["ep=r"], '</>;rt="oma.lwm2m";ct=abc,</3/0>', "ct must be a Content-Format number"],
  ])("Register with %s is refused", async (_what, query, payload, expected) => {
    const answer = await client.register("r", payload, query);
    expect(answer.code).toBe(ResponseCode.BadRequest);
    expect(utf8Decode(answer.payload)).toContain(expected);
  });

  test("Register without Content-Format 40 or without payload is refused", async () => {
    const noFormat = await client.exchange(client.request(Method.POST, "/rd", { query: ["ep=r"], payload: QUOTED }));
    expect(noFormat.code).toBe(ResponseCode.BadRequest);
    expect(utf8Decode(noFormat.payload)).toContain("Content-Format 40");
    const noPayload = await client.exchange(client.request(Method.POST, "/rd", { query: ["ep=r"], format: ContentFormat.LinkFormat }));
    expect(noPayload.code).toBe(ResponseCode.BadRequest);
    expect(utf8Decode(noPayload.payload)).toContain("Objects and Object Instances");
  });

  test("Update with a parameter Register-only (ep, lwm2m) is refused", async () => {
    const location = `/${server.registry.get("raw1")!.location.join("/")}`;
    const answer = await client.exchange(client.request(Method.POST, location, { query: ["ep=raw1"] }));
    expect(answer.code).toBe(ResponseCode.BadRequest);
    expect(utf8Decode(answer.payload)).toContain("LwM2M TS §6.2.2");
  });

  test("a notification before the response to the Observe request is counted", async () => {
    const observed = server.observe("raw1", "/3/0/9");
    const request = await client.serverRequest("the Observe request");
    expect(getUintOption(request, OptionNumber.Observe)).toBe(0);
    const found = await violationsDuring(async () => {
      await client.notify(request, { observe: 5, format: ContentFormat.TextPlain, payload: "91" });
      client.respond(request, "ack", { observe: 4, format: ContentFormat.TextPlain, payload: "90" });
      await until(() => seen.some((v) => v.message.includes("notification sent before the response")), "the ordering violation");
    });
    expect(found).toEqual([expect.objectContaining({ endpoint: "raw1", rule: "RFC 7641 §4.2 / RFC 7252 §5.2" })]);
    await observed;
  });

  test("a decreasing Observe number is counted; increasing ones are not", async () => {
    const observed = server.observe("raw1", "/3/0/13");
    const request = await client.serverRequest("the Observe request");
    const found = await violationsDuring(async () => {
      client.respond(request, "ack", { observe: 10, format: ContentFormat.TextPlain, payload: "1" });
      await observed;
      await client.notify(request, { observe: 11, format: ContentFormat.TextPlain, payload: "2" });
      await client.notify(request, { observe: 7, format: ContentFormat.TextPlain, payload: "3" });
    });
    expect(found).toEqual([expect.objectContaining({ rule: "RFC 7641 §4.4", message: expect.stringContaining("Observe 7 after 11") })]);
  });

  test("Message-ID reuse for a different message is counted; a retransmission is not", async () => {
    const location = `/${server.registry.get("raw1")!.location.join("/")}`;
    const mid = client.nextMid();
    const found = await violationsDuring(async () => {
      const first = client.request(Method.POST, location, { query: ["lt=300"], mid });
      const bytes = client.send(first);
      await client.take((m) => m.messageId === mid, "the answer to the Update");
      client.sendBytes(bytes);
      await client.take((m) => m.messageId === mid, "the replayed answer to the retransmission");
      await client.exchange(client.request(Method.POST, location, { query: ["lt=400"], mid }));
    });
    expect(found).toEqual([expect.objectContaining({ endpoint: "raw1", rule: "RFC 7252 §4.4", message: expect.stringContaining(`Message ID ${mid} reused`) })]);
  });

  test("a 2.05 whose Content-Format is not the requested Accept is counted, as is a payload without Content-Format", async () => {
    const found = await violationsDuring(async () => {
      const read = server.read("raw1", "/3/0/9", ContentFormat.LwM2mTlv);
      client.respond(await client.serverRequest("the Read"), "ack", { format: ContentFormat.TextPlain, payload: "90" });
      await read;
      const bare = server.read("raw1", "/3/0/9");
      client.respond(await client.serverRequest("the second Read"), "ack", { payload: "90" });
      await bare;
    });
    expect(found.map((v) => v.rule)).toEqual(["RFC 7252 §5.10.4", "RFC 7252 §5.10.3 / LwM2M TS (Data Formats)"]);
    expect(found[0]!.message).toContain("Content-Format 0, not the 11542");
  });

  test("malformed datagrams and an ACK carrying a request are counted", async () => {
    const before = seen.length;
    const found = await violationsDuring(async () => {
      client.sendBytes(Uint8Array.of(0x80, 0x01, 0x12, 0x34)); // version 2
      const ackWithGet = createMessage(MessageType.Acknowledgement, Method.GET, client.nextMid());
      addOption(ackWithGet, OptionNumber.UriPath, utf8Encode("rd"));
      client.send(ackWithGet);
      await until(() => seen.length >= before + 3, "the violations");
    });
    expect(found.map((v) => v.rule)).toEqual(expect.arrayContaining(["RFC 7252 §3", "RFC 7252 §4.2"]));
    expect(found.find((v) => v.rule === "RFC 7252 §3")!.message).toContain("Version must be 1");
  });

  test("GET /violations reports the count and the violations", async () => {
    const response = await fetch(`${base}/violations`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { count: number; violations: Violation[] };
    expect(body.count).toBe(server.violations.count);
    expect(body.count).toBe(seen.length);
    expect(body.violations).toEqual(seen.slice(-200));
    expect(body.violations[0]).toEqual({ endpoint: "raw-unquoted", peer: expect.stringMatching(/^127\.0\.0\.1:[0-9]+$/), rule: expect.any(String), message: expect.any(String), at: expect.any(String) });
    expect(Number.isNaN(Date.parse(body.violations[0]!.at))).toBe(false);
  });

  test("the list keeps the last 200 violations while the count keeps counting", async () => {
    const before = server.violations.count;
    for (let i = 0; i < 210; i++) client.sendBytes(Uint8Array.of(0x80, 0x01, 0x00, i));
    await until(() => server.violations.count === before + 210, "210 more violations");
    const report = server.violations;
    expect(report.violations.length).toBe(200);
    expect(report.violations[199]).toEqual(seen[seen.length - 1]);
  });
});

describe("development server, lenient mode", () => {
  test("breaking Register requests are accepted but counted; the CLI documents --lenient", async () => {
    const server = new LwM2mDevServer({ platform, port: 0, strict: false });
    await until(() => server.port > 0, "the CoAP port");
    const client = new RawClient(server.port);
    await client.open();
    try {
      expect(server.strict).toBe(false);
      const answer = await client.register("lenient1", UNQUOTED, ["ep=lenient1", "lt=300", "lwm2m=1.1", "foo=bar"]);
      expect(answer.code).toBe(ResponseCode.Created);
      expect(server.violations.count).toBe(2);
      expect(server.violations.violations.map((v) => v.message)).toEqual([expect.stringContaining('unknown Register parameter "foo"'), expect.stringContaining("rt value must be quoted")]);
    } finally {
      client.close();
      server.close();
    }
    const help = execFileSync(process.execPath, [path.resolve("build/tools/dev-server/cli.js"), "--help"], { encoding: "utf8" });
    expect(help).toContain("--lenient");
  });
});
