import { afterAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { codeClass, ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { utf8Encode } from "../../modules/coap/message.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { decodeWrite, UnsupportedFormatError } from "../../modules/lwm2m/content/formats.js";
import { encodeSenmlCbor, encodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import { ContentError, type ResourceEntry } from "../../modules/lwm2m/model/values.js";
import { openTestClient, openTestServer, stopClient } from "../conformance/lwm2m-helpers.js";

/** Fuzzing the LwM2M content decoders, directly and through a live client. */
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "lwm2m-fuzz-"));
const platform = createNodePlatform({ stateDir, logLevel: "error" });
afterAll(() => {
  platform.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const definitions = createStandardStore();
const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);
const FORMATS = [ContentFormat.TextPlain, ContentFormat.OctetStream, ContentFormat.Cbor, ContentFormat.LwM2mTlv, ContentFormat.SenmlJson, ContentFormat.SenmlCbor, ContentFormat.LegacyLwM2mText];

function seeds(): Uint8Array[] {
  const entries: ResourceEntry[] = [
    { path: { objectId: 3, instanceId: 0, resourceId: 14 }, value: "+01:00", type: "string" },
    { path: { objectId: 3, instanceId: 0, resourceId: 13 }, value: 1700000000, type: "time" },
    { path: { objectId: 3, instanceId: 0, resourceId: 6, resourceInstanceId: 0 }, value: 1, type: "integer" },
  ];
  const base = { objectId: 3, instanceId: 0 };
  return [encodeTlv(base, entries, new Set([6])), encodeSenmlJson(base, entries), encodeSenmlCbor(base, entries), utf8Encode("+05:30"), utf8Encode("1700000000")];
}

function mutate(random: SeededRandom, base: readonly Uint8Array[]): Uint8Array {
  if (random.chance(0.15)) return Uint8Array.from({ length: random.between(0, 40) }, () => random.nextUint32() & 0xff);
  const bytes = base[random.between(0, base.length - 1)]!.slice();
  for (let edit = random.between(1, 3); edit > 0 && bytes.length > 0; edit--) {
    const at = random.between(0, bytes.length - 1);
    if (random.chance(0.5)) bytes[at] = bytes[at]! ^ (1 << random.between(0, 7));
    else bytes[at] = random.nextUint32() & 0xff;
  }
  return random.chance(0.2) ? bytes.subarray(0, random.between(0, bytes.length)) : bytes;
}

describe("LwM2M decoder fuzzing", () => {
  test("50,000 mutated payloads in every format: only ContentError or UnsupportedFormatError, never another exception", () => {
    const random = new SeededRandom(7);
    const base = seeds();
    const paths = [{ objectId: 3, instanceId: 0 }, { objectId: 3, instanceId: 0, resourceId: 14 }, { objectId: 3 }, { objectId: 3, instanceId: 0, resourceId: 6 }];
    let decoded = 0;
    for (let i = 0; i < 50000; i++) {
      const format = FORMATS[random.between(0, FORMATS.length - 1)]!;
      const target = paths[random.between(0, paths.length - 1)]!;
      try {
        decodeWrite(target, format, mutate(random, base), lookup);
        decoded++;
      } catch (error) {
        if (!(error instanceof ContentError) && !(error instanceof UnsupportedFormatError)) throw error;
      }
    }
    expect(decoded).toBeGreaterThan(1000);
  });

  test("3,000 hostile writes to a live client: sane codes, no internal error, nothing stored that breaks a read", async () => {
    const server = await openTestServer(platform);
    const { client } = await openTestClient(platform, server);
    const random = new SeededRandom(8);
    const base = seeds();
    const codes = new Map<number, number>();
    try {
      for (let i = 0; i < 3000; i++) {
        const format = FORMATS[random.between(0, FORMATS.length - 1)]!;
        const target = ["/3/0", "/3/0/14", "/3/0/13", "/1/0", "/1/0/1", "/19", "/3/0/6"][random.between(0, 6)]!;
        const method = random.chance(0.5) ? Method.PUT : Method.POST;
        const response = await server.request({ method, path: target, contentFormat: format, payload: mutate(random, base) });
        codes.set(response.code, (codes.get(response.code) ?? 0) + 1);
        // 5.03: the deduplication table is full of fresh POSTs (see README, CoAP deduplication).
        if (response.code !== ResponseCode.ServiceUnavailable) expect([2, 4]).toContain(codeClass(response.code));
      }
      expect(client.endpoint.stats.internalErrors).toBe(0);
      expect(codes.get(ResponseCode.BadRequest)).toBeGreaterThan(100);
      for (const target of ["/3/0", "/1/0", "/3"]) {
        const read = await server.request({ method: Method.GET, path: target, accept: ContentFormat.LwM2mTlv });
        expect(read.code).toBe(ResponseCode.Content);
      }
    } finally {
      await stopClient(platform, client);
      server.close();
    }
  }, 120000);
});
