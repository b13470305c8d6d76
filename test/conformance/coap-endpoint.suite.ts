import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import { blockSize } from "../../modules/coap/block.js";
import { download, fetchAll, upload } from "../../modules/coap/blockwise-client.js";
import { encodeMessage } from "../../modules/coap/codec.js";
import { code, MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { CoapError } from "../../modules/coap/errors.js";
import { createMessage, encodeUint, getOption, getUintOption, setUriPath, type CoapMessage } from "../../modules/coap/message.js";
import { MemoryBudget } from "../../hal/memory.js";
import { CoapEndpoint as Endpoint } from "../../modules/coap/endpoint.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { asText, FAST, openEndpoint, openRawPeer, peerOf, text } from "./coap-helpers.js";
import { observeTests } from "./coap-observe-tests.js";
import { assert, sleep, suite, waitFor } from "./harness.js";

function outcome(endpoint: CoapEndpoint, options: Parameters<CoapEndpoint["request"]>[0]): Promise<{ error?: CoapError; response?: CoapMessage }> {
  return new Promise((resolve) => endpoint.request(options, (error, response) => resolve(error ? { error } : { response: response! })));
}

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

export default suite("CoAP endpoint", (test) => {
  test("GET, PUT, POST and DELETE with piggybacked responses", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    const store = new Map<string, string>();
    server.setHandler((exchange) => {
      const { method, path, payload } = exchange.request;
      const key = path.join("/");
      if (method === Method.GET) exchange.respond(store.has(key) ? { code: ResponseCode.Content, payload: text(store.get(key)!), contentFormat: 0 } : { code: ResponseCode.NotFound });
      else if (method === Method.PUT) {
        store.set(key, asText(payload));
        exchange.respond({ code: ResponseCode.Changed });
      } else if (method === Method.POST) {
        store.set(`${key}/1`, asText(payload));
        exchange.respond({ code: ResponseCode.Created, locationPath: [key, "1"] });
      } else if (method === Method.DELETE) exchange.respond({ code: store.delete(key) ? ResponseCode.Deleted : ResponseCode.NotFound });
    });
    try {
      const peer = peerOf(server);
      assert.equal((await client.requestAsync({ peer, method: Method.GET, path: "/a" })).code, ResponseCode.NotFound);
      assert.equal((await client.requestAsync({ peer, method: Method.PUT, path: "/a", payload: text("one") })).code, ResponseCode.Changed);
      const got = await client.requestAsync({ peer, method: Method.GET, path: "/a" });
      assert.equal(asText(got.payload), "one");
      assert.equal(getUintOption(got, OptionNumber.ContentFormat), 0);
      const created = await client.requestAsync({ peer, method: Method.POST, path: "/a", payload: text("two"), confirmable: false });
      assert.equal(created.code, ResponseCode.Created);
      assert.equal(asText((await client.requestAsync({ peer, method: Method.GET, path: "/a/1" })).payload), "two");
      assert.equal((await client.requestAsync({ peer, method: Method.DELETE, path: "/a" })).code, ResponseCode.Deleted);
      assert.equal(client.load.exchanges, 0);
    } finally {
      client.close();
      server.close();
    }
  });

  test("a slow handler gets an empty ACK, then a separate CON response", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    server.setHandler((exchange) => {
      platform.time.setTimer(120, () => exchange.respond({ code: ResponseCode.Content, payload: text("late") }));
    });
    try {
      const response = await client.requestAsync({ peer: peerOf(server), method: Method.GET, path: "/slow" });
      assert.equal(asText(response.payload), "late");
      assert.equal(response.type, MessageType.Confirmable, "separate response is CON");
      assert.equal(client.stats.retransmissions, 0, "the empty ACK stopped retransmission");
    } finally {
      client.close();
      server.close();
    }
  });

  test("unknown critical options get 4.02, unknown elective ones are ignored", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    server.setHandler((exchange) => exchange.respond({ code: ResponseCode.Content }));
    try {
      const peer = peerOf(server);
      const critical = await client.requestAsync({ peer, method: Method.GET, path: "/x", options: [{ number: 9, value: text("?") }] });
      assert.equal(critical.code, ResponseCode.BadOption);
      const elective = await client.requestAsync({ peer, method: Method.GET, path: "/x", options: [{ number: 2048, value: text("?") }] });
      assert.equal(elective.code, ResponseCode.Content);
      const badLength = await client.requestAsync({ peer, method: Method.GET, path: "/x", options: [{ number: OptionNumber.Accept, value: new Uint8Array(3) }] });
      assert.equal(badLength.code, ResponseCode.BadOption, "Accept longer than 2 bytes");
      const proxied = await client.requestAsync({ peer, method: Method.GET, options: [{ number: OptionNumber.ProxyUri, value: text("coap://x/") }] });
      assert.equal(proxied.code, code(5, 5));
    } finally {
      client.close();
      server.close();
    }
  });

  test("malformed CON and CoAP ping get RST; malformed NON gets nothing", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const raw = await openRawPeer(platform);
    try {
      const peer = peerOf(server);
      raw.send(Uint8Array.of(0x49, 0x01, 0x12, 0x34), peer); // token length 9
      await raw.waitFor(1);
      assert.equal(raw.received[0]!.data, Uint8Array.of(0x70, 0x00, 0x12, 0x34));
      raw.send(Uint8Array.of(0x40, 0x00, 0x00, 0x07), peer); // empty CON = ping
      await raw.waitFor(2);
      assert.equal(raw.received[1]!.data, Uint8Array.of(0x70, 0x00, 0x00, 0x07));
      raw.send(Uint8Array.of(0x50, 0x01, 0x00, 0x08, 0xff), peer); // NON with empty payload after marker
      await sleep(platform, 50);
      assert.equal(raw.received.length, 2);
      assert.equal(server.stats.malformed, 2);
    } finally {
      raw.close();
      server.close();
    }
  });

  test("a duplicate CON request is executed once and its response replayed", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const raw = await openRawPeer(platform);
    let executions = 0;
    server.setHandler((exchange) => {
      executions++;
      exchange.respond({ code: ResponseCode.Changed, payload: text(`run ${executions}`) });
    });
    try {
      const request = createMessage(MessageType.Confirmable, Method.POST, 0x4242, Uint8Array.of(9, 9));
      setUriPath(request, "/counter");
      const bytes = encodeMessage(request);
      raw.send(bytes, peerOf(server));
      raw.send(bytes, peerOf(server));
      await raw.waitFor(2);
      await sleep(platform, 30);
      raw.send(bytes, peerOf(server));
      await raw.waitFor(3);
      assert.equal(executions, 1);
      assert.equal(raw.received[0]!.data, raw.received[1]!.data);
      assert.equal(raw.received[2]!.data, raw.received[0]!.data);
      assert.equal(asText(raw.received[0]!.message!.payload), "run 1");
      assert.equal(server.stats.duplicates, 2);
    } finally {
      raw.close();
      server.close();
    }
  });

  test("CON retransmission backs off exponentially, then times out", async ({ platform }) => {
    // The back-off is read from the timers the endpoint asks for, not from wall-clock gaps a loaded machine stretches.
    const delays: number[] = [];
    const time = Object.create(platform.time, {
      setTimer: { value: (ms: number, callback: () => void) => (delays.push(ms), platform.time.setTimer(ms, callback)) },
    }) as typeof platform.time;
    const transport = new UdpTransport(platform.net);
    const client = new Endpoint({ transport, time, random: platform.random, parameters: { ...FAST, ackTimeoutMs: 40, ackRandomFactor: 1, maxRetransmit: 3 } });
    const silent = await openRawPeer(platform);
    try {
      const result = await outcome(client, { peer: peerOf(silent.socket), method: Method.GET, path: "/void" });
      assert.equal(result.error?.kind, "timeout");
      assert.equal(silent.received.length, 4, "one transmission and three retransmissions");
      assert.equal(delays.filter((ms) => ms >= 40), [40, 80, 160, 320], "ACK timeouts double: 40, 80, 160, then 320 ms until giving up");
      const ids = new Set(silent.received.map((r) => r.message!.messageId));
      assert.equal(ids.size, 1, "retransmissions reuse the message ID");
    } finally {
      client.close();
      silent.close();
    }
  });

  test("RST ends a request with a reset error, not a response", async ({ platform }) => {
    const client = await openEndpoint(platform);
    const raw = await openRawPeer(platform);
    raw.socket; // answers with RST below
    try {
      const pending = outcome(client, { peer: peerOf(raw.socket), method: Method.GET, path: "/r" });
      await raw.waitFor(1);
      const request = raw.received[0]!.message!;
      raw.send(encodeMessage(createMessage(MessageType.Reset, 0, request.messageId)), peerOf(client));
      const result = await pending;
      assert.equal(result.error?.kind, "reset");
      assert.equal(result.response, undefined);
    } finally {
      raw.close();
      client.close();
    }
  });

  test("NSTART 1 serialises requests per peer; the queue behind it is bounded", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform, { ...FAST, maxQueuedPerPeer: 2 });
    let concurrent = 0;
    let maxConcurrent = 0;
    const order: string[] = [];
    server.setHandler((exchange) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      order.push(exchange.request.path.join("/"));
      platform.time.setTimer(20, () => {
        concurrent--;
        exchange.respond({ code: ResponseCode.Content });
      });
    });
    try {
      const peer = peerOf(server);
      const results = await Promise.all(["1", "2", "3", "4"].map((path) => outcome(client, { peer, method: Method.GET, path })));
      assert.equal(results.map((r) => (r.error ? r.error.kind : "ok")), ["ok", "ok", "ok", "limit"]);
      assert.equal(order, ["1", "2", "3"]);
      assert.equal(maxConcurrent, 1);
    } finally {
      client.close();
      server.close();
    }
  });

  observeTests(test);

  test("Block2: large responses in blocks, a smaller size on request, resume and ETag", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    let body = pattern(5000);
    let handlerCalls = 0;
    server.setHandler((exchange) => {
      handlerCalls++;
      exchange.respond({ code: ResponseCode.Content, payload: body, contentFormat: 42 });
    });
    try {
      const peer = peerOf(server);
      const whole = await fetchAll(client, { peer, path: "/big" }, 100000);
      assert.equal(whole.payload, body);
      assert.equal(handlerCalls, 1, "later blocks come from the cached representation");
      const small = await fetchAll(client, { peer, path: "/big", szx: 2 }, 100000);
      assert.equal(small.payload, body);
      const first = await client.requestAsync({ peer, method: Method.GET, path: "/big" });
      assert.equal(getUintOption(first, OptionNumber.Size2), 5000);
      assert.ok(getOption(first, OptionNumber.ETag) !== undefined, "ETag present");

      // Resume at block 10 of 256-byte blocks.
      const tail: Uint8Array[] = [];
      let firstOffset = -1;
      await new Promise<void>((resolve, reject) =>
        download(client, { peer, path: "/big", szx: 4, startBlock: 10, expectedEtag: whole.etag, onBlock: (offset, data) => void (firstOffset < 0 && (firstOffset = offset), tail.push(data.slice())) }, (error) => (error ? reject(error) : resolve())),
      );
      assert.equal(firstOffset, 10 * blockSize(4));
      const joined = new Uint8Array(tail.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const chunk of tail) (joined.set(chunk, at), (at += chunk.length));
      assert.equal(joined, body.subarray(2560));

      body = pattern(6000);
      const changed = await new Promise<CoapError | undefined>((resolve) => download(client, { peer, path: "/big", expectedEtag: whole.etag, onBlock: () => undefined }, (error) => resolve(error)));
      assert.equal(changed?.kind, "protocol", "a changed representation is detected by its ETag");
    } finally {
      client.close();
      server.close();
    }
  });

  test("Block1: reassembly, 4.13 beyond the limit, 4.08 for a missing block", async ({ platform }) => {
    const server = await openEndpoint(platform, { ...FAST, maxReassemblyBytes: 4096 });
    const client = await openEndpoint(platform);
    const bodies: Uint8Array[] = [];
    server.setHandler((exchange) => {
      bodies.push(exchange.request.payload.slice());
      exchange.respond({ code: ResponseCode.Changed });
    });
    try {
      const peer = peerOf(server);
      const body = pattern(3000);
      const response = await new Promise<CoapMessage>((resolve, reject) => upload(client, { peer, method: Method.PUT, path: "/up", payload: body, szx: 4 }, (error, r) => (error ? reject(error) : resolve(r!))));
      assert.equal(response.code, ResponseCode.Changed);
      assert.equal(bodies.length, 1, "the handler ran once, with the whole body");
      assert.equal(bodies[0], body);
      const tooBig = await new Promise<CoapError | undefined>((resolve) => upload(client, { peer, method: Method.PUT, path: "/up", payload: pattern(5000), szx: 4 }, (error) => resolve(error)));
      assert.equal(tooBig?.kind, "too-large");
      const skipped = await client.requestAsync({ peer, method: Method.PUT, path: "/gap", payload: pattern(256), options: [{ number: OptionNumber.Block1, value: encodeUint((3 << 4) | 8 | 4) }] });
      assert.equal(skipped.code, ResponseCode.RequestEntityIncomplete);
      assert.equal(bodies.length, 1);
      assert.equal(server.load.blockTransfers, 0, "failed reassemblies are dropped");
    } finally {
      client.close();
      server.close();
    }
  });

  test("message size limits are enforced both ways", async ({ platform }) => {
    const server = await openEndpoint(platform, { ...FAST, maxMessageSize: 256 });
    const client = await openEndpoint(platform);
    server.setHandler((exchange) => exchange.respond({ code: ResponseCode.Changed }));
    try {
      const peer = peerOf(server);
      const oversize = await client.requestAsync({ peer, method: Method.PUT, path: "/x", payload: pattern(400) });
      assert.equal(oversize.code, ResponseCode.RequestEntityTooLarge);
      assert.equal(getUintOption(oversize, OptionNumber.Size1), 256);
      const local = await outcome(server, { peer: peerOf(client), method: Method.PUT, payload: pattern(400) });
      assert.equal(local.error?.kind, "too-large");
    } finally {
      client.close();
      server.close();
    }
  });

  test("a full deduplication table answers a POST with 5.03 instead of risking a second execution", async ({ platform }) => {
    const server = await openEndpoint(platform, { ...FAST, maxDedupEntries: 2 });
    const client = await openEndpoint(platform);
    let executions = 0;
    server.setHandler((exchange) => {
      executions++;
      exchange.respond({ code: ResponseCode.Changed });
    });
    try {
      const peer = peerOf(server);
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await client.requestAsync({ peer, method: Method.POST, path: "/p" })).code);
      assert.equal(codes, [ResponseCode.Changed, ResponseCode.Changed, ResponseCode.ServiceUnavailable]);
      assert.equal(executions, 2);
      // Idempotent requests still run: they may be re-executed safely.
      assert.equal((await client.requestAsync({ peer, method: Method.PUT, path: "/p" })).code, ResponseCode.Changed);
      assert.equal(executions, 3);
      assert.equal(server.load.dedup, 2);
    } finally {
      client.close();
      server.close();
    }
  });

  test("through 20 % loss and 10 % duplication every request ends and none runs twice", async ({ platform }) => {
    const server = await openEndpoint(platform, { ...FAST, ackTimeoutMs: 30, maxRetransmit: 4 });
    const lossy = new FaultyNet(platform.net, platform.time, { loss: 0.2, duplicate: 0.1, seed: 11 });
    const client = await openEndpoint(platform, { ...FAST, ackTimeoutMs: 30, maxRetransmit: 4 }, lossy);
    const executions = new Map<string, number>();
    server.setHandler((exchange) => {
      const id = asText(exchange.request.payload);
      executions.set(id, (executions.get(id) ?? 0) + 1);
      exchange.respond({ code: ResponseCode.Changed, payload: exchange.request.payload });
    });
    try {
      const peer = peerOf(server);
      const results: string[] = [];
      for (let i = 0; i < 40; i++) {
        const result = await outcome(client, { peer, method: Method.POST, path: "/count", payload: text(`req-${i}`) });
        if (result.error) {
          assert.equal(result.error.kind, "timeout");
          results.push("timeout");
        } else {
          assert.equal(asText(result.response!.payload), `req-${i}`);
          assert.equal(executions.get(`req-${i}`), 1, `req-${i} executed once`);
          results.push("ok");
        }
      }
      for (const [id, count] of executions) assert.ok(count === 1, `${id} executed ${count} times`);
      assert.ok(results.filter((r) => r === "ok").length >= 36, `completed: ${results.filter((r) => r === "ok").length}/40`);
      assert.ok(lossy.stats.dropped > 0 && lossy.stats.duplicated > 0, "faults happened");
      assert.equal(client.load.exchanges, 0);
    } finally {
      client.close();
      server.close();
    }
  });

  test("CON messages are held in the memory budget; an exhausted budget fails the request with limit", async ({ platform }) => {
    const budget = new MemoryBudget([{ blockSize: 64, blocks: 1 }]);
    const client = await openEndpointWith(platform, budget);
    const silent = await openRawPeer(platform);
    const server = await openEndpoint(platform);
    server.setHandler((exchange) => exchange.respond({ code: ResponseCode.Content }));
    try {
      const waiting = outcome(client, { peer: peerOf(silent.socket), method: Method.GET, path: "/slow" });
      await silent.waitFor(1);
      assert.equal(budget.stats().bytesInUse, 64, "the first CON holds the only block");
      const refused = await outcome(client, { peer: peerOf(server), method: Method.GET, path: "/x" });
      assert.equal(refused.error?.kind, "limit");
      assert.ok(String(refused.error?.message).indexOf("memory-exhausted") >= 0, String(refused.error?.message));
      assert.equal((await waiting).error?.kind, "timeout");
      assert.equal(budget.stats().bytesInUse, 0, "released after the timeout");
      const ok = await outcome(client, { peer: peerOf(server), method: Method.GET, path: "/x" });
      assert.equal(ok.response?.code, ResponseCode.Content);
      assert.equal(budget.stats().bytesInUse, 0, "released after the ACK");
      assert.equal(budget.stats().pools[0]!.highWater, 1);
    } finally {
      silent.close();
      server.close();
      client.close();
    }
  });
});

async function openEndpointWith(platform: Parameters<typeof openEndpoint>[0], memory: MemoryBudget): Promise<Endpoint> {
  const transport = new UdpTransport(platform.net);
  const endpoint = new Endpoint({ transport, time: platform.time, random: platform.random, parameters: { ...FAST, maxRetransmit: 1 }, memory });
  await waitFor(platform, () => transport.localPort > 0, 2000, "port");
  return endpoint;
}
