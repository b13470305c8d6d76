/**
 * A firmware update rig for the end-to-end tests: the demo firmware (main.ts)
 * in XS on the host runner, configured with a package signing key, and the
 * development server hosting signed packages.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_FIRMWARE_AREA, FirmwareHost, type FirmwareHostOptions } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { blockSize, decodeBlock, encodeBlock } from "../../modules/coap/block.js";
import { ContentFormat, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { encodeUint, getOption } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { decodePackageHeader } from "../../modules/fota/package-format.js";
import { generateKeys, signPackage, type FotaKeys } from "../../tools/fota/package-signer.js";
import { makeTestImage } from "../../tools/fota/test-image.js";
import { LwM2mDevServer, type DevServerOptions, type ServerEvent } from "../../tools/dev-server/server.js";

export const MIB = 1 << 20;

export interface FotaRig {
  readonly dir: string;
  readonly keys: FotaKeys;
  readonly server: LwM2mDevServer;
  readonly events: ServerEvent[];
  readonly lines: string[];
  host: FirmwareHost;
  readonly endpoint: string;
  /** Starts the firmware (again, on the same state) with extra host options. */
  boot(options?: Partial<FirmwareHostOptions>): Promise<void>;
  close(): Promise<void>;
}

export function signedPackage(keys: FotaKeys, size: number, seed: number, version: string): { image: Uint8Array; package: Uint8Array } {
  const image = makeTestImage(size, seed);
  return { image, package: signPackage(image, keys.privateKeyPem, { version, name: "demo-fw" }) };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The package bytes in the image area of the host's firmware.bin (after the two record sectors). */
export function storedPackage(dir: string): { header: ReturnType<typeof decodePackageHeader>; image: (length: number) => Uint8Array } {
  const file = fs.readFileSync(path.join(dir, "device", "firmware.bin"));
  const area = new Uint8Array(file.buffer, file.byteOffset + 2 * DEFAULT_FIRMWARE_AREA.sectorSize);
  const header = decodePackageHeader(area.subarray(0, 512));
  const start = "headerLength" in header ? header.headerLength : 0;
  return { header, image: (length) => area.slice(start, start + length) };
}

export function waitUntil(check: () => boolean, what: string, lines: readonly string[], timeoutMs = 120000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}\n${lines.slice(-30).join("\n")}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

export async function openFotaRig(name: string, options: { server?: Partial<DevServerOptions>; config?: Record<string, string>; keys?: FotaKeys } = {}): Promise<FotaRig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fota-${name}-`));
  const keys = options.keys ?? generateKeys();
  const serverPlatform = createNodePlatform({ stateDir: path.join(dir, "server"), logLevel: "warn" });
  const events: ServerEvent[] = [];
  const lines: string[] = [];
  const server = new LwM2mDevServer({ platform: serverPlatform, port: 0, autoObserve: [], ...options.server });
  server.on("event", (event: ServerEvent) => void events.push(event));
  await waitUntil(() => server.port > 0, "the server's port", lines);
  const endpoint = `fota-${name}`;
  const config = { server: `coap://127.0.0.1:${server.port}`, endpoint, reportInterval: "600000", lifetime: "120", fotaPublicKey: keys.publicKeyHex, ...options.config };
  const rig: FotaRig = {
    dir,
    keys,
    server,
    events,
    lines,
    endpoint,
    host: undefined as unknown as FirmwareHost,
    async boot(extra = {}) {
      rig.host = new FirmwareHost({ stateDir: path.join(dir, "device"), config, writeLine: (line) => void lines.push(line), ...extra });
      await rig.host.start();
    },
    async close() {
      await rig.host?.stop(3000);
      server.close();
      serverPlatform.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Registrations of `endpoint` seen so far. */
export function registrations(rig: FotaRig): number {
  return rig.events.filter((event) => event.type === "registered" && event.endpoint === rig.endpoint).length;
}

/** The fota-result events of the rig's device. */
export function results(rig: FotaRig): Extract<ServerEvent, { type: "fota-result" }>[] {
  return rig.events.filter((event): event is Extract<ServerEvent, { type: "fota-result" }> => event.type === "fota-result" && event.endpoint === rig.endpoint);
}

/**
 * A plain CoAP server in Node serving one package at /fw with Block2 (the
 * CoAP layer slices it) and counting the bytes it sends, resumes included.
 */
export async function servePackage(bytes: Uint8Array): Promise<{ readonly uri: string; bytesServed(): number; firstServedAt(): number; lastServedAt(): number; close(): void }> {
  const platform = createNodePlatform({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "fota-file-")), logLevel: "warn" });
  const transport = new UdpTransport(platform.net);
  const endpoint = new CoapEndpoint({ transport, time: platform.time, random: platform.random });
  let served = 0;
  let firstAt = 0;
  let lastAt = 0;
  endpoint.setHandler((exchange) => {
    lastAt = performance.now();
    if (!firstAt) firstAt = lastAt;
    if (exchange.request.path.join("/") !== "fw") return exchange.respond({ code: ResponseCode.NotFound });
    // Each block is cut here (not by the CoAP layer, which would answer later blocks from its cache), so every byte sent is counted.
    const block = getOption(exchange.request.message, OptionNumber.Block2);
    const requested = block ? decodeBlock(block) : undefined;
    const szx = requested?.szx ?? 6;
    const size = blockSize(szx);
    const num = requested?.num ?? 0;
    const start = num * size;
    if (start >= bytes.length) return exchange.respond({ code: ResponseCode.BadOption });
    const payload = bytes.subarray(start, Math.min(start + size, bytes.length));
    served += payload.length;
    const more = start + payload.length < bytes.length;
    exchange.respond({
      code: ResponseCode.Content,
      payload,
      contentFormat: ContentFormat.OctetStream,
      options: [
        { number: OptionNumber.ETag, value: new Uint8Array([7, 7, 7, 7]) },
        { number: OptionNumber.Block2, value: encodeBlock({ num, more, szx }) },
        { number: OptionNumber.Size2, value: encodeUint(bytes.length) },
      ],
    });
  });
  while (!transport.localPort) await new Promise((resolve) => setTimeout(resolve, 2));
  return {
    uri: `coap://127.0.0.1:${transport.localPort}/fw`,
    bytesServed: () => served,
    firstServedAt: () => firstAt,
    lastServedAt: () => lastAt,
    close: () => {
      endpoint.close();
      platform.close();
    },
  };
}
