import { Logger } from "../../hal/log.js";
import { encodeMessage } from "../../modules/coap/codec.js";
import { MessageType, Method, ResponseCode } from "../../modules/coap/constants.js";
import { createMessage, setUriPath, type Peer } from "../../modules/coap/message.js";
import { DEFAULT_COAP_PARAMETERS } from "../../modules/coap/params.js";
import { FAST, openEndpoint, openRawPeer, peerOf, type RawPeer } from "./coap-helpers.js";
import { assert, suite } from "./harness.js";
import { openTestClient, openTestServer, stopClient } from "./lwm2m-helpers.js";

/** More POSTs than the default deduplication table holds. */
const FLOOD = DEFAULT_COAP_PARAMETERS.maxDedupEntries + 6;

function post(messageId: number, path: string): Uint8Array {
  const message = createMessage(MessageType.Confirmable, Method.POST, messageId, Uint8Array.of(messageId >> 8, messageId & 0xff));
  setUriPath(message, path);
  return encodeMessage(message);
}

/** Sends `count` CON POSTs with fresh message IDs from `raw` and waits for every answer; returns their codes. */
async function flood(raw: RawPeer, to: Peer, count: number, path: string): Promise<number[]> {
  const before = raw.received.length;
  for (let i = 0; i < count; i++) raw.send(post(0x1000 + i, path), to);
  await raw.waitFor(before + count, 5000);
  return raw.received.slice(before).map((received) => received.message!.code);
}

export default suite("CoAP deduplication defects (issue 9)", (test) => {
  test("defect 25: a stranger's refused POSTs do not block the server's Execute", async ({ platform }) => {
    const lines: string[] = [];
    const log = new Logger({ writeLine: (line) => lines.push(line) }, platform.time, "warn");
    const server = await openTestServer(platform);
    const { client, rebooted } = await openTestClient(platform, server, { log });
    const stranger = await openRawPeer(platform);
    try {
      assert.equal(client.registrationState(), "registered");
      const codes = await flood(stranger, server.clientPeer!, FLOOD, "/3/0/4");
      assert.equal(codes.filter((code) => code !== ResponseCode.Unauthorized), [], "every stranger's POST refused 4.01");
      const execute = await server.request({ method: Method.POST, path: "/3/0/4" });
      assert.equal(execute.code, ResponseCode.Changed, "the server's Execute runs at once");
      await new Promise<void>((resolve) => platform.time.setTimer(20, resolve));
      assert.equal(rebooted.length, 1, "the Execute ran once; the stranger's never");
      // A retransmission of a refused CON (same message ID) is refused again, not replayed from a table.
      const again = await flood(stranger, server.clientPeer!, 1, "/3/0/4");
      assert.equal(again, [ResponseCode.Unauthorized]);
      const refusals = lines.filter((line) => line.indexOf("refused") >= 0);
      assert.ok(refusals.length >= 1 && refusals.length <= 3, `the refusals are logged rate-limited: ${refusals.length} lines`);
    } finally {
      stranger.close();
      await stopClient(platform, client);
      server.close();
    }
  });

  test("defect 25: one peer's accepted POSTs cannot take the whole deduplication table", async ({ platform }) => {
    const endpoint = await openEndpoint(platform);
    endpoint.setHandler((exchange) => exchange.respond({ code: ResponseCode.Changed }));
    const greedy = await openRawPeer(platform);
    const other = await openEndpoint(platform, FAST);
    try {
      const codes = await flood(greedy, peerOf(endpoint), FLOOD, "/x");
      const share = DEFAULT_COAP_PARAMETERS.maxDedupEntriesPerPeer;
      assert.ok(share < DEFAULT_COAP_PARAMETERS.maxDedupEntries, "a share smaller than the table");
      assert.equal(codes.filter((code) => code === ResponseCode.Changed).length, share, "the greedy peer's POSTs ran up to its share");
      assert.equal(codes.filter((code) => code === ResponseCode.ServiceUnavailable).length, FLOOD - share, "the rest were refused 5.03");
      assert.ok(endpoint.load.dedup < DEFAULT_COAP_PARAMETERS.maxDedupEntries, `room left in the table: ${endpoint.load.dedup}`);
      const response = await other.requestAsync({ peer: peerOf(endpoint), method: Method.POST, path: "/x" });
      assert.equal(response.code, ResponseCode.Changed, "another peer's POST still runs");
    } finally {
      other.close();
      greedy.close();
      endpoint.close();
    }
  });
});
