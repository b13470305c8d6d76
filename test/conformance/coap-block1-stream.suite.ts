import { decodeBlock, encodeBlock } from "../../modules/coap/block.js";
import { upload } from "../../modules/coap/blockwise-client.js";
import { encodeMessage } from "../../modules/coap/codec.js";
import { ContentFormat, MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import type { Block1Info, CoapEndpoint, IncomingRequest } from "../../modules/coap/endpoint.js";
import { addOption, createMessage, getOption, getUintOption, getUriPath, setUintOption, setUriPath, type CoapMessage, type Peer } from "../../modules/coap/message.js";
import { FAST, openEndpoint, openRawPeer, peerOf } from "./coap-helpers.js";
import { assert, suite } from "./harness.js";

export function pattern(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8) + seed) & 0xff;
  return bytes;
}

/** Sends one Block1 block of a PUT and resolves with the answer. */
export function sendBlock(client: CoapEndpoint, peer: Peer, path: string, num: number, more: boolean, payload: Uint8Array, szx = 4): Promise<CoapMessage> {
  return client.requestAsync({ peer, method: Method.PUT, path, payload, contentFormat: ContentFormat.OctetStream, options: [{ number: OptionNumber.Block1, value: encodeBlock({ num, more, szx }) }] });
}

function putUpload(client: CoapEndpoint, peer: Peer, path: string, payload: Uint8Array, szx: number, contentFormat: number = ContentFormat.OctetStream): Promise<CoapMessage> {
  return new Promise((resolve, reject) => upload(client, { peer, method: Method.PUT, path, payload, contentFormat, szx }, (error, response) => (error ? reject(error) : resolve(response!))));
}

interface Seen {
  readonly info: Block1Info | undefined;
  readonly length: number;
  readonly reassemblies: number;
}

/** A server that streams PUTs to /s* with octet-stream, and records what its handler saw. */
async function openStreamingServer(platform: Parameters<typeof openEndpoint>[0], answer: (request: IncomingRequest) => number = () => ResponseCode.Changed, parameters = FAST) {
  const server = await openEndpoint(platform, parameters);
  const seen: Seen[] = [];
  const bodies: Uint8Array[] = [];
  server.setHandler(
    (exchange) => {
      const request = exchange.request;
      if (request.block1) seen.push({ info: request.block1, length: request.payload.length, reassemblies: server.load.blockTransfers });
      else bodies.push(request.payload.slice());
      exchange.respond({ code: answer(request) });
    },
    { streamsBlock1: (message) => (getUriPath(message)[0] ?? "").indexOf("s") === 0 && getUintOption(message, OptionNumber.ContentFormat) === ContentFormat.OctetStream },
  );
  return { server, seen, bodies };
}

export default suite("CoAP Block1 streaming", (test) => {
  test("a streamed upload reaches the handler block by block, in order, with nothing reassembled", async ({ platform }) => {
    const { server, seen, bodies } = await openStreamingServer(platform);
    const client = await openEndpoint(platform);
    try {
      const body = pattern(5000);
      const response = await putUpload(client, peerOf(server), "/stream", body, 4);
      assert.equal(response.code, ResponseCode.Changed);
      const echo = decodeBlock(getOption(response, OptionNumber.Block1)!)!;
      assert.equal(echo, { num: 19, more: false, szx: 4 }, "the last block is echoed in the 2.04");
      assert.equal(bodies.length, 0, "no reassembled request");
      assert.equal(seen.length, 20);
      seen.forEach((block, index) => {
        assert.equal(block.info, { offset: index * 256, more: index < 19, szx: 4 });
        assert.equal(block.reassemblies, 0, "nothing held in the reassembly table");
      });
      assert.equal(seen[19]!.length, 5000 - 19 * 256);
      assert.equal(server.load.streamedBlock1, 0, "the transfer is over");
    } finally {
      client.close();
      server.close();
    }
  });

  test("a streamed block is answered 2.31 Continue with Block1, at most in the preferred size", async ({ platform }) => {
    const { server, seen } = await openStreamingServer(platform, () => ResponseCode.Changed, { ...FAST, preferredSzx: 4 });
    const client = await openEndpoint(platform);
    try {
      const first = await sendBlock(client, peerOf(server), "/s", 0, true, pattern(1024), 6);
      assert.equal(first.code, ResponseCode.Continue);
      assert.equal(decodeBlock(getOption(first, OptionNumber.Block1)!), { num: 0, more: true, szx: 4 });
      assert.equal(server.load.streamedBlock1, 1);
      // The client goes on in 256-byte blocks: block 4 starts at byte 1024.
      const last = await sendBlock(client, peerOf(server), "/s", 4, false, pattern(10), 4);
      assert.equal(last.code, ResponseCode.Changed);
      assert.equal(seen.map((block) => block.info), [
        { offset: 0, more: true, szx: 6 },
        { offset: 1024, more: false, szx: 4 },
      ]);
    } finally {
      client.close();
      server.close();
    }
  });

  test("a gap gets 4.08 and drops the transfer; block 0 starts it again", async ({ platform }) => {
    const { server, seen } = await openStreamingServer(platform);
    const client = await openEndpoint(platform);
    try {
      const peer = peerOf(server);
      assert.equal((await sendBlock(client, peer, "/s", 0, true, pattern(256))).code, ResponseCode.Continue);
      assert.equal((await sendBlock(client, peer, "/s", 2, true, pattern(256))).code, ResponseCode.RequestEntityIncomplete, "block 1 is missing");
      assert.equal(server.load.streamedBlock1, 0);
      assert.equal((await sendBlock(client, peer, "/s", 1, true, pattern(256))).code, ResponseCode.RequestEntityIncomplete, "the transfer is gone");
      assert.equal((await sendBlock(client, peer, "/s", 3, true, pattern(256))).code, ResponseCode.RequestEntityIncomplete, "no transfer without block 0");
      assert.equal((await sendBlock(client, peer, "/s", 0, true, pattern(256))).code, ResponseCode.Continue);
      assert.equal((await sendBlock(client, peer, "/s", 0, true, pattern(256))).code, ResponseCode.Continue, "block 0 again restarts");
      assert.equal((await sendBlock(client, peer, "/s", 1, false, pattern(3))).code, ResponseCode.Changed);
      assert.equal(seen.map((block) => block.info!.offset), [0, 0, 0, 256]);
      assert.equal((await sendBlock(client, peer, "/s", 1, true, pattern(100))).code, ResponseCode.RequestEntityIncomplete, "a short block that is not the last");
    } finally {
      client.close();
      server.close();
    }
  });

  test("a refusal from the handler ends the transfer", async ({ platform }) => {
    const { server, seen } = await openStreamingServer(platform, (request) => (request.block1!.offset >= 512 ? ResponseCode.RequestEntityTooLarge : ResponseCode.Changed));
    const client = await openEndpoint(platform);
    try {
      const peer = peerOf(server);
      const response = await new Promise<CoapMessage>((resolve) => upload(client, { peer, method: Method.PUT, path: "/s", payload: pattern(2000), contentFormat: ContentFormat.OctetStream, szx: 4 }, (_error, reply) => resolve(reply!)));
      assert.equal(response.code, ResponseCode.RequestEntityTooLarge);
      assert.equal(seen.length, 3, "blocks 0, 1 and the refused 2");
      assert.equal(server.load.streamedBlock1, 0);
      assert.equal((await sendBlock(client, peer, "/s", 3, true, pattern(256))).code, ResponseCode.RequestEntityIncomplete, "the refused transfer does not go on");
      assert.equal(seen.length, 3);
    } finally {
      client.close();
      server.close();
    }
  });

  test("a retransmitted block is answered again, not delivered twice", async ({ platform }) => {
    const { server, seen } = await openStreamingServer(platform);
    const raw = await openRawPeer(platform);
    try {
      const datagram = (messageId: number, num: number, more: boolean) => {
        const message = createMessage(MessageType.Confirmable, Method.PUT, messageId, new Uint8Array([1, 2]));
        setUriPath(message, "/s");
        setUintOption(message, OptionNumber.ContentFormat, ContentFormat.OctetStream);
        addOption(message, OptionNumber.Block1, encodeBlock({ num, more, szx: 4 }));
        message.payload = pattern(more ? 256 : 7);
        return encodeMessage(message);
      };
      const first = datagram(0x100, 0, true);
      raw.send(first, peerOf(server));
      await raw.waitFor(1);
      raw.send(first, peerOf(server));
      await raw.waitFor(2);
      raw.send(datagram(0x101, 1, false), peerOf(server));
      raw.send(datagram(0x101, 1, false), peerOf(server));
      await raw.waitFor(4);
      const codes = raw.received.map((received) => received.message!.code);
      assert.equal(codes, [ResponseCode.Continue, ResponseCode.Continue, ResponseCode.Changed, ResponseCode.Changed]);
      assert.equal(raw.received[0]!.data, raw.received[1]!.data, "the same answer replayed");
      assert.equal(seen.map((block) => block.info!.offset), [0, 256], "each block delivered once");
    } finally {
      raw.close();
      server.close();
    }
  });

  test("requests the handler does not stream are reassembled as before", async ({ platform }) => {
    const { server, seen, bodies } = await openStreamingServer(platform);
    const client = await openEndpoint(platform);
    try {
      const body = pattern(3000);
      assert.equal((await putUpload(client, peerOf(server), "/s", body, 4, ContentFormat.TextPlain)).code, ResponseCode.Changed);
      assert.equal((await putUpload(client, peerOf(server), "/other", body, 4)).code, ResponseCode.Changed);
      assert.equal(seen.length, 0);
      assert.equal(bodies, [body, body]);
    } finally {
      client.close();
      server.close();
    }
  });

  test("streaming is decided on block 0: later blocks of that transfer stay streamed", async ({ platform }) => {
    const server = await openEndpoint(platform);
    const client = await openEndpoint(platform);
    let streams = true;
    const offsets: (number | undefined)[] = [];
    server.setHandler(
      (exchange) => {
        offsets.push(exchange.request.block1?.offset);
        exchange.respond({ code: ResponseCode.Changed });
      },
      { streamsBlock1: () => streams },
    );
    try {
      const peer = peerOf(server);
      assert.equal((await sendBlock(client, peer, "/x", 0, true, pattern(256))).code, ResponseCode.Continue);
      streams = false;
      assert.equal((await sendBlock(client, peer, "/x", 1, false, pattern(5))).code, ResponseCode.Changed);
      assert.equal(offsets, [0, 256]);
      assert.equal((await sendBlock(client, peer, "/x", 0, true, pattern(256))).code, ResponseCode.Continue);
      assert.equal((await sendBlock(client, peer, "/x", 1, false, pattern(5))).code, ResponseCode.Changed);
      assert.equal(offsets, [0, 256, undefined], "a new transfer is reassembled once the handler stops streaming");
    } finally {
      client.close();
      server.close();
    }
  });

  test("streamed transfers are bounded by maxBlockTransfers (5.03 beyond)", async ({ platform }) => {
    const { server } = await openStreamingServer(platform, () => ResponseCode.Changed, { ...FAST, maxBlockTransfers: 2 });
    const client = await openEndpoint(platform);
    try {
      const peer = peerOf(server);
      assert.equal((await sendBlock(client, peer, "/s1", 0, true, pattern(256))).code, ResponseCode.Continue);
      assert.equal((await sendBlock(client, peer, "/s2", 0, true, pattern(256))).code, ResponseCode.Continue);
      assert.equal((await sendBlock(client, peer, "/s3", 0, true, pattern(256))).code, ResponseCode.ServiceUnavailable);
      assert.equal(server.load.streamedBlock1, 2);
      assert.equal((await sendBlock(client, peer, "/s1", 1, false, pattern(1))).code, ResponseCode.Changed);
      assert.equal((await sendBlock(client, peer, "/s3", 0, true, pattern(256))).code, ResponseCode.Continue, "room again once one ended");
      assert.equal(server.load.streamedBlock1, 2);
    } finally {
      client.close();
      server.close();
    }
  });
});
