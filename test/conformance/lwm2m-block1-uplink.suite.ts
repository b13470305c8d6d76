import { encodeMessage } from "../../modules/coap/codec.js";
import { MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { decodeBlock, encodeBlock } from "../../modules/coap/block.js";
import { requestWithBody } from "../../modules/coap/blockwise-client.js";
import type { CoapError } from "../../modules/coap/errors.js";
import { addOption, createMessage, getOption, getUintOption, setUintOption, type CoapMessage } from "../../modules/coap/message.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { decodeSenmlCbor } from "../../modules/lwm2m/content/senml.js";
import { AppDataResource, ObjectId } from "../../modules/lwm2m/objects/index.js";
import { openEndpoint, openRawPeer, peerOf } from "./coap-helpers.js";
import { assert, suite, waitFor } from "./harness.js";
import { openTestClient, openTestServer, stopClient } from "./lwm2m-helpers.js";

/** Enough /19 instances for the object list to outgrow one 1152-byte datagram. */
const MANY_INSTANCES = 150;

function storeWithAppData(count: number) {
  const store = createStandardStore();
  const appData = store.get(ObjectId.BinaryAppDataContainer)!;
  for (let id = 0; id < count; id++) appData.createInstance(id);
  return store;
}

function appDataTargets(links: readonly { target: string }[]): string[] {
  return links.map((link) => link.target).filter((target) => target.indexOf("/19/") === 0);
}

export default suite("LwM2M Block1 uplink (issue 9)", (test) => {
  test("defect 11: Register with an object list larger than one datagram goes block-wise", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, events } = await openTestClient(platform, server, { store: storeWithAppData(MANY_INSTANCES) });
    try {
      assert.equal(client.registrationState(), "registered", `events: ${JSON.stringify(events)}`);
      assert.equal(server.registrations.length, 1);
      const targets = appDataTargets(server.registrations[0]!.links);
      assert.equal(targets.length, MANY_INSTANCES, "the server saw every instance");
      assert.equal(targets[MANY_INSTANCES - 1], `/19/${MANY_INSTANCES - 1}`);
      assert.ok(server.registrations[0]!.query.indexOf("ep=xs-test-client") >= 0, "the query reached the server with the body");
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 11: an Update carrying a large object list goes block-wise", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store, events } = await openTestClient(platform, server);
    try {
      assert.equal(client.registrationState(), "registered");
      const appData = store.get(ObjectId.BinaryAppDataContainer)!;
      for (let id = 0; id < MANY_INSTANCES; id++) appData.createInstance(id);
      await waitFor(platform, () => events.some((event) => event.type === "updated" || event.type === "error") || server.registrations.length > 1, 3000, "the Update's answer");
      assert.equal(server.registrations.length, 1, "an Update, not a new Register");
      const payload = server.updates[server.updates.length - 1]!.payload;
      let count = 0;
      for (let id = 0; id < MANY_INSTANCES; id++) if (payload.indexOf(`</19/${id}>`) >= 0) count++;
      assert.equal(count, MANY_INSTANCES, "the Update named every instance");
      assert.equal(events.filter((event) => event.type === "error"), []);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 11: a Send larger than one datagram goes block-wise", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, store } = await openTestClient(platform, server);
    try {
      const data = new Uint8Array(3000);
      for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
      store.get(ObjectId.BinaryAppDataContainer)!.createInstance(0).set(AppDataResource.Data, new Map([[0, data]]));
      const path = { objectId: ObjectId.BinaryAppDataContainer, instanceId: 0, resourceId: AppDataResource.Data };
      const outcome = await new Promise<Error | undefined>((resolve) => client.send([path], resolve));
      assert.equal(outcome, undefined);
      assert.equal(server.sent.length, 1);
      assert.ok(server.sent[0]!.length > 3000, "the whole SenML body arrived");
      const lookup = (objectId: number, resourceId: number) => store.get(objectId)?.resource(resourceId);
      const entries = decodeSenmlCbor(undefined, server.sent[0]!, lookup);
      assert.equal((entries[0]!.value as Uint8Array).length, 3000);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 11: a 4.13 with a Block1 hint restarts the upload with smaller blocks", async ({ platform }) => {
    const raw = await openRawPeer(platform);
    const client = await openEndpoint(platform);
    try {
      const body = new Uint8Array(2500);
      for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
      let result: { error?: CoapError; response?: CoapMessage } | undefined;
      requestWithBody(client, { peer: peerOf(raw.socket), method: Method.POST, path: "/rd", payload: body }, (error, response) => (result = error ? { error } : { response: response! }));
      const answered = new Set<number>();
      const blocks: { num: number; szx: number; length: number }[] = [];
      await waitFor(
        platform,
        () => {
          for (const received of raw.received) {
            const request = received.message;
            if (!request || answered.has(request.messageId)) continue;
            answered.add(request.messageId);
            const value = getOption(request, OptionNumber.Block1);
            const block = value ? decodeBlock(value)! : { num: 0, more: false, szx: 6 };
            blocks.push({ num: block.num, szx: block.szx, length: request.payload.length });
            let reply: CoapMessage;
            if (block.szx > 4) {
              // Blocks of at most 256 bytes, please (RFC 7959 §2.9.3).
              reply = createMessage(MessageType.Acknowledgement, ResponseCode.RequestEntityTooLarge, request.messageId, request.token.slice());
              addOption(reply, OptionNumber.Block1, encodeBlock({ num: 0, more: false, szx: 4 }));
            } else {
              reply = createMessage(MessageType.Acknowledgement, block.more ? ResponseCode.Continue : ResponseCode.Created, request.messageId, request.token.slice());
              addOption(reply, OptionNumber.Block1, encodeBlock({ num: block.num, more: block.more, szx: block.szx }));
            }
            raw.send(encodeMessage(reply), peerOf(client));
          }
          return result !== undefined;
        },
        3000,
        "the upload's outcome",
      );
      assert.equal(result!.error, undefined);
      assert.equal(result!.response!.code, ResponseCode.Created);
      const small = blocks.filter((block) => block.szx === 4);
      assert.equal(blocks[0]!.szx, 6, "first tried in 1024-byte blocks");
      assert.equal(small.map((block) => block.num), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "restarted from block 0 in 256-byte blocks");
      assert.equal(small[9]!.length, 2500 - 9 * 256);
    } finally {
      client.close();
      raw.close();
    }
  });

  test("defect 11: a plain request answered 4.13 with Size1 is retried block-wise", async ({ platform }) => {
    const raw = await openRawPeer(platform);
    const client = await openEndpoint(platform);
    try {
      const body = new Uint8Array(400);
      let result: { error?: CoapError; response?: CoapMessage } | undefined;
      requestWithBody(client, { peer: peerOf(raw.socket), method: Method.POST, path: "/dp", payload: body }, (error, response) => (result = error ? { error } : { response: response! }));
      const answered = new Set<number>();
      const sizes: number[] = [];
      await waitFor(
        platform,
        () => {
          for (const received of raw.received) {
            const request = received.message;
            if (!request || answered.has(request.messageId)) continue;
            answered.add(request.messageId);
            sizes.push(received.data.length);
            const value = getOption(request, OptionNumber.Block1);
            let reply: CoapMessage;
            if (received.data.length > 300) {
              // An oversize datagram: the limit in Size1 (RFC 7252 §5.9.2.9), as this stack's message layer answers.
              reply = createMessage(MessageType.Acknowledgement, ResponseCode.RequestEntityTooLarge, request.messageId, request.token.slice());
              setUintOption(reply, OptionNumber.Size1, 300);
            } else {
              const block = decodeBlock(value!)!;
              reply = createMessage(MessageType.Acknowledgement, block.more ? ResponseCode.Continue : ResponseCode.Changed, request.messageId, request.token.slice());
              addOption(reply, OptionNumber.Block1, encodeBlock(block));
            }
            raw.send(encodeMessage(reply), peerOf(client));
          }
          return result !== undefined;
        },
        3000,
        "the request's outcome",
      );
      assert.equal(result!.error, undefined);
      assert.equal(result!.response!.code, ResponseCode.Changed);
      assert.ok(sizes[0]! > 400, "the first attempt was one message");
      assert.ok(sizes.slice(1).every((size) => size <= 300), `then blocks that fit: ${sizes.join(",")}`);
      assert.equal(getUintOption(result!.response!, OptionNumber.Size1), undefined);
    } finally {
      client.close();
      raw.close();
    }
  });
});
