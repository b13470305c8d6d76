import { crc32 } from "../../hal/common/crc32.js";
import type { Platform } from "../../hal/platform.js";
import { upload } from "../../modules/coap/blockwise-client.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { utf8Encode, type CoapMessage, type Peer } from "../../modules/coap/message.js";
import { TransportWrapper, UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import type { ObjectInstance } from "../../modules/lwm2m/model/object-store.js";
import { AclRight } from "../../modules/lwm2m/objects/access-control.js";
import { AccessControlResource, FirmwareUpdateResource, ObjectId } from "../../modules/lwm2m/objects/index.js";
import { base64Encode } from "../../modules/lwm2m/content/base64.js";
import { pattern, sendBlock } from "./coap-block1-stream.suite.js";
import { assert, suite, waitFor } from "./harness.js";
import { openTestClient, openTestServer, stopClient, type TestServer } from "./lwm2m-helpers.js";

const PACKAGE = "/5/0/0";

/** What a writeBlock hook saw: every call, a running CRC, and whether the offsets followed each other. */
interface Sink {
  calls: number;
  bytes: number;
  crc: number;
  inOrder: boolean;
  ended: boolean;
  /** Block transfers (reassemblies, cached representations) the client's endpoint held at each call. */
  maxReassemblies: number;
  offsets: number[];
  refuseAt: number | undefined;
}

function bindSink(instance: ObjectInstance, endpoint: () => CoapEndpoint, keepOffsets = true): Sink {
  const sink: Sink = { calls: 0, bytes: 0, crc: 0, inOrder: true, ended: false, maxReassemblies: 0, offsets: [], refuseAt: undefined };
  instance.bind(FirmwareUpdateResource.Package, {
    writeBlock: (offset, data, more) => {
      if (sink.refuseAt !== undefined && offset >= sink.refuseAt) return ResponseCode.NotAcceptable;
      if (offset === 0) {
        sink.bytes = 0;
        sink.crc = 0;
      }
      sink.calls++;
      if (keepOffsets) sink.offsets.push(offset);
      if (offset !== sink.bytes) sink.inOrder = false;
      sink.crc = crc32(data, sink.crc);
      sink.bytes += data.length;
      sink.ended = !more;
      sink.maxReassemblies = Math.max(sink.maxReassemblies, endpoint().load.blockTransfers);
    },
  });
  return sink;
}

async function openClientWithSink(platform: Platform, server: TestServer, keepOffsets = true) {
  const store = createStandardStore();
  const firmware = store.get(ObjectId.FirmwareUpdate)!.createInstance(0);
  let endpoint: CoapEndpoint | undefined;
  const sink = bindSink(firmware, () => endpoint!, keepOffsets);
  const opened = await openTestClient(platform, server, { store });
  endpoint = opened.client.endpoint;
  return { ...opened, firmware, sink };
}

function push(server: TestServer, payload: Uint8Array, contentFormat: number | undefined = ContentFormat.OctetStream, szx = 6, path = PACKAGE): Promise<CoapMessage> {
  return new Promise((resolve, reject) =>
    upload(server.endpoint, { peer: server.clientPeer!, method: Method.PUT, path, payload, ...(contentFormat === undefined ? {} : { contentFormat }), szx }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
}

/** Sends every datagram twice, as a network that duplicates everything would. */
class Duplicating extends TransportWrapper {
  override send(data: Uint8Array, peer: Peer): void {
    super.send(data, peer);
    super.send(data, peer);
  }
}

export default suite("LwM2M streamed Block1 writes", (test) => {
  test("a 1 MiB package pushed in 1024-byte blocks reaches writeBlock once, in order, never reassembled", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, sink } = await openClientWithSink(platform, server, false);
    try {
      const body = pattern(1 << 20, 3);
      const response = await push(server, body);
      assert.equal(response.code, ResponseCode.Changed);
      assert.equal(sink.calls, 1024, "one call per block");
      assert.equal(sink.bytes, body.length);
      assert.ok(sink.inOrder, "each block started where the last one ended");
      assert.equal(sink.crc, crc32(body), "every byte once, in order");
      assert.ok(sink.ended, "the last block said no more");
      assert.equal(sink.maxReassemblies, 0, "the client held no reassembly while the blocks came");
      assert.equal(client.endpoint.load.streamedBlock1, 0);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("a small package in one message (octet-stream or no Content-Format) is one writeBlock(0, data, false)", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, sink } = await openClientWithSink(platform, server);
    try {
      const small = pattern(300);
      assert.equal((await server.request({ method: Method.PUT, path: PACKAGE, payload: small, contentFormat: ContentFormat.OctetStream })).code, ResponseCode.Changed);
      assert.equal(sink.offsets, [0]);
      assert.equal(sink.crc, crc32(small));
      assert.ok(sink.ended);
      assert.equal((await server.request({ method: Method.PUT, path: PACKAGE, payload: small })).code, ResponseCode.Changed, "no Content-Format is taken as opaque");
      assert.equal(sink.offsets, [0, 0]);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("a gap in the blocks gets 4.08 and the hook sees nothing of it", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, sink } = await openClientWithSink(platform, server);
    try {
      const peer = server.clientPeer!;
      assert.equal((await sendBlock(server.endpoint, peer, PACKAGE, 0, true, pattern(256))).code, ResponseCode.Continue);
      assert.equal((await sendBlock(server.endpoint, peer, PACKAGE, 2, true, pattern(256))).code, ResponseCode.RequestEntityIncomplete);
      assert.equal((await sendBlock(server.endpoint, peer, PACKAGE, 1, false, pattern(16))).code, ResponseCode.RequestEntityIncomplete, "the transfer was dropped");
      assert.equal(sink.offsets, [0]);
      assert.equal(client.endpoint.load.streamedBlock1, 0);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("a refusal from writeBlock mid-way ends the transfer", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, sink } = await openClientWithSink(platform, server);
    sink.refuseAt = 4096;
    try {
      const response = await push(server, pattern(10000));
      assert.equal(response.code, ResponseCode.NotAcceptable, "the hook's code is the answer");
      assert.equal(sink.offsets, [0, 1024, 2048, 3072]);
      assert.equal(client.endpoint.load.streamedBlock1, 0);
      sink.refuseAt = undefined;
      assert.equal((await sendBlock(server.endpoint, server.clientPeer!, PACKAGE, 5, true, pattern(1024), 6)).code, ResponseCode.RequestEntityIncomplete, "the refused transfer cannot go on");
      assert.equal(sink.offsets.length, 4);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("retransmitted blocks are not delivered twice", async ({ platform }) => {
    const server = await openTestServer(platform, 0, new Duplicating(new UdpTransport(platform.net)));
    const { client, sink } = await openClientWithSink(platform, server);
    try {
      const body = pattern(5000, 9);
      assert.equal((await push(server, body, ContentFormat.OctetStream, 4)).code, ResponseCode.Changed);
      assert.ok(client.endpoint.stats.duplicates >= 20, `every block arrived twice (${client.endpoint.stats.duplicates} duplicates)`);
      assert.equal(sink.offsets, Array.from({ length: 20 }, (_, i) => i * 256));
      assert.equal(sink.crc, crc32(body));
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("other formats are decoded whole as before: text/plain (base64) of the package is reassembled and stored", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { client, sink, firmware } = await openClientWithSink(platform, server);
    try {
      const body = pattern(3000);
      const written: Uint8Array[] = [];
      firmware.bind(FirmwareUpdateResource.Package, { writeBlock: () => void sink.calls++, write: (value) => void written.push(value as Uint8Array) });
      const response = await push(server, utf8Encode(base64Encode(body)), ContentFormat.TextPlain, 4);
      assert.equal(response.code, ResponseCode.Changed);
      assert.equal(sink.calls, 0, "writeBlock is for octet-stream only");
      assert.equal(written.length, 1);
      assert.equal(written[0], body);
      const tlv = await push(server, pattern(2000), ContentFormat.LwM2mTlv, 4);
      assert.equal(tlv.code, ResponseCode.BadRequest, "TLV goes through the decoder (and this is no TLV)");
      assert.equal(sink.calls, 0);
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  });

  test("the Write checks run for every block: a deleted instance (4.04) or a revoked Write right (4.01) ends the transfer", async ({ platform }) => {
    const first = await openTestServer(platform);
    const second = await openTestServer(platform);
    const store = createStandardStore();
    const firmware = store.get(ObjectId.FirmwareUpdate)!.createInstance(0);
    let endpoint: CoapEndpoint | undefined;
    const sink = bindSink(firmware, () => endpoint!);
    const acl = store.get(ObjectId.AccessControl)!.createInstance();
    acl.set(AccessControlResource.ObjectId, ObjectId.FirmwareUpdate);
    acl.set(AccessControlResource.ObjectInstanceId, 0);
    acl.set(AccessControlResource.Acl, new Map([[1, AclRight.Read | AclRight.Write], [2, AclRight.Read]]));
    acl.set(AccessControlResource.AccessControlOwner, 1);
    const { client } = await openTestClient(platform, first, {
      store,
      servers: [
        { uri: `coap://127.0.0.1:${first.endpoint.localPort}`, shortServerId: 1, lifetime: 60 },
        { uri: `coap://127.0.0.1:${second.endpoint.localPort}`, shortServerId: 2, lifetime: 60 },
      ],
    });
    endpoint = client.endpoint;
    try {
      await waitFor(platform, () => client.registrationState(2) === "registered", 3000, "the second registration");
      assert.equal((await sendBlock(second.endpoint, second.clientPeer!, PACKAGE, 0, true, pattern(256))).code, ResponseCode.Unauthorized, "server 2 may not write");
      assert.equal(sink.calls, 0);
      const peer = first.clientPeer!;
      assert.equal((await sendBlock(first.endpoint, peer, PACKAGE, 0, true, pattern(256))).code, ResponseCode.Continue);
      acl.set(AccessControlResource.Acl, new Map([[1, AclRight.Read]]));
      assert.equal((await sendBlock(first.endpoint, peer, PACKAGE, 1, true, pattern(256))).code, ResponseCode.Unauthorized, "the right is checked again for each block");
      acl.set(AccessControlResource.Acl, new Map([[1, AclRight.Read | AclRight.Write]]));
      assert.equal((await sendBlock(first.endpoint, peer, PACKAGE, 1, true, pattern(256))).code, ResponseCode.RequestEntityIncomplete, "the refused transfer is over");
      assert.equal((await sendBlock(first.endpoint, peer, PACKAGE, 0, true, pattern(256))).code, ResponseCode.Continue);
      store.get(ObjectId.FirmwareUpdate)!.deleteInstance(0);
      assert.equal((await sendBlock(first.endpoint, peer, PACKAGE, 1, false, pattern(16))).code, ResponseCode.NotFound);
      assert.equal(sink.offsets, [0, 0]);
      assert.equal(client.endpoint.load.streamedBlock1, 0);
    } finally {
      await stopClient(platform, client);
      first.close();
      second.close();
    }
  });
});
