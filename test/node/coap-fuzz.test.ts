import { afterAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { decodeMessage, encodeMessage } from "../../modules/coap/codec.js";
import { MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { addOption, createMessage, encodeUint, setUriPath, utf8Encode } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";

/**
 * Property and fuzz tests: 100,000 random and mutated datagrams to the
 * decoder, and 100,000 to a live endpoint over loopback UDP. Nothing may
 * throw, state must stay within the configured limits, and valid traffic
 * must still work afterwards.
 */
const COUNT = 100000;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "coap-fuzz-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });

afterAll(() => {
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

function seeds(): Uint8Array[] {
  const get = createMessage(MessageType.Confirmable, Method.GET, 1, Uint8Array.of(1, 2, 3, 4));
  setUriPath(get, "/3/0/1");
  addOption(get, OptionNumber.Accept, encodeUint(11542));
  const observe = createMessage(MessageType.Confirmable, Method.GET, 2, Uint8Array.of(5));
  addOption(observe, OptionNumber.Observe, encodeUint(0));
  setUriPath(observe, "/obs");
  const block1 = createMessage(MessageType.Confirmable, Method.PUT, 3, Uint8Array.of(6));
  setUriPath(block1, "/up");
  addOption(block1, OptionNumber.Block1, encodeUint((0 << 4) | 8 | 2));
  addOption(block1, OptionNumber.Size1, encodeUint(200));
  block1.payload = new Uint8Array(64).fill(7);
  const block2 = createMessage(MessageType.NonConfirmable, Method.GET, 4, Uint8Array.of(7));
  setUriPath(block2, "/big");
  addOption(block2, OptionNumber.Block2, encodeUint((3 << 4) | 2));
  const response = createMessage(MessageType.Confirmable, ResponseCode.Content, 5, Uint8Array.of(9, 9));
  addOption(response, OptionNumber.Observe, encodeUint(12));
  response.payload = utf8Encode("22.5");
  const post = createMessage(MessageType.Confirmable, Method.POST, 6, new Uint8Array(8));
  setUriPath(post, "/rd");
  addOption(post, OptionNumber.UriQuery, utf8Encode("ep=fuzz"));
  addOption(post, 2000, new Uint8Array(300));
  post.payload = utf8Encode("</1/0>,</3/0>");
  return [get, observe, block1, block2, response, post, createMessage(MessageType.Acknowledgement, 0, 7), createMessage(MessageType.Reset, 0, 8)].map(encodeMessage);
}

function mutate(random: SeededRandom, base: readonly Uint8Array[]): Uint8Array {
  if (random.chance(0.2)) {
    const bytes = new Uint8Array(random.between(0, 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.nextUint32() & 0xff;
    return bytes;
  }
  let bytes = base[random.between(0, base.length - 1)]!.slice();
  const edits = random.between(1, 4);
  for (let e = 0; e < edits; e++) {
    const kind = random.between(0, 5);
    const at = bytes.length ? random.between(0, bytes.length - 1) : 0;
    if (kind === 0 && bytes.length) bytes[at] = bytes[at]! ^ (1 << random.between(0, 7));
    else if (kind === 1 && bytes.length) bytes[at] = random.nextUint32() & 0xff;
    else if (kind === 2) bytes = bytes.subarray(0, random.between(0, bytes.length)).slice();
    else if (kind === 3) {
      const grown = new Uint8Array(bytes.length + 1);
      grown.set(bytes.subarray(0, at));
      grown[at] = [0xff, 0xdd, 0xee, 0x0d, 0xf0, random.nextUint32() & 0xff][random.between(0, 5)]!;
      grown.set(bytes.subarray(at), at + 1);
      bytes = grown;
    } else if (kind === 4 && bytes.length > 1) {
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
    } else if (bytes.length >= 4) {
      bytes[0] = (bytes[0]! & 0xf0) | random.between(0, 15); // token length, including the reserved 9..15
    }
  }
  return bytes;
}

describe("CoAP fuzzing", () => {
  test(`${COUNT} random and mutated datagrams: the decoder never throws and round-trips what it accepts`, () => {
    const random = new SeededRandom(2024);
    const base = seeds();
    let accepted = 0;
    for (let i = 0; i < COUNT; i++) {
      const datagram = mutate(random, base);
      const result = decodeMessage(datagram);
      if (result.ok) {
        accepted++;
        expect(Buffer.from(encodeMessage(result.message)).equals(Buffer.from(datagram))).toBe(true);
      } else {
        expect(typeof result.reason).toBe("string");
      }
    }
    expect(accepted).toBeGreaterThan(COUNT / 20);
    expect(accepted).toBeLessThan(COUNT);
  });

  test(`${COUNT} datagrams to a live endpoint: no exception, bounded state, valid traffic still works`, async () => {
    const parameters = { ackTimeoutMs: 30, maxRetransmit: 1, piggybackWindowMs: 20, maxDedupEntries: 32, maxObservers: 4, maxBlockTransfers: 2, maxReassemblyBytes: 2048 };
    const serverTransport = new UdpTransport(platform.net);
    const server = new CoapEndpoint({ transport: serverTransport, time: platform.time, random: platform.random, parameters });
    let handled = 0;
    server.setHandler((exchange) => {
      handled++;
      exchange.acceptObserve();
      const path = exchange.request.path.join("/");
      exchange.respond({ code: ResponseCode.Content, payload: path === "big" ? new Uint8Array(3000) : utf8Encode(path) });
    });
    const clientTransport = new UdpTransport(platform.net);
    const client = new CoapEndpoint({ transport: clientTransport, time: platform.time, random: platform.random });
    while (!serverTransport.localPort || !clientTransport.localPort) await new Promise((resolve) => setTimeout(resolve, 2));
    const raw = platform.net.openUdp({ onDatagram: () => undefined });
    const target = { address: "127.0.0.1", port: serverTransport.localPort };
    const random = new SeededRandom(99);
    const base = seeds();
    let maxDedup = 0;
    let maxObservers = 0;
    let maxBlocks = 0;
    try {
      for (let i = 0; i < COUNT; i++) {
        raw.send(mutate(random, base), target);
        if (i % 50 === 49) {
          // Keep at most ~200 datagrams in flight so the kernel's receive buffer never overflows, even on a loaded machine.
          const deadline = Date.now() + 2000;
          while (server.stats.received < i - 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        if (i % 500 === 499) {
          const load = server.load;
          maxDedup = Math.max(maxDedup, load.dedup);
          maxObservers = Math.max(maxObservers, load.observers);
          maxBlocks = Math.max(maxBlocks, load.blockTransfers);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.stats.internalErrors).toBe(0);
      expect(server.stats.received).toBeGreaterThan(COUNT * 0.98);
      expect(server.stats.malformed).toBeGreaterThan(1000);
      expect(handled).toBeGreaterThan(100);
      expect(maxDedup).toBeLessThanOrEqual(32);
      expect(maxObservers).toBeLessThanOrEqual(4);
      expect(maxBlocks).toBeLessThanOrEqual(4);
      const response = await client.requestAsync({ peer: target, method: Method.GET, path: "/still/alive" });
      expect(response.code).toBe(ResponseCode.Content);
      expect(Buffer.from(response.payload).toString()).toBe("still/alive");
    } finally {
      raw.close();
      client.close();
      server.close();
    }
  }, 120000);
});
