/**
 * Firmware download benchmark: the demo firmware in XS pulls a signed 1 MiB
 * package at block size 1024 through the host's network emulation with a
 * 50 ms round trip (25 ms each way on every datagram). CoAP Block2 asks for
 * one block per round trip, so the lock-step limit is blocks × RTT; the
 * figure is the download time as a ratio to it, with the XS heap sampled
 * during the transfer.
 */
import { MIB, openFotaRig, registrations, servePackage, signedPackage, waitUntil } from "../test/node/fota-rig.js";

const RTT_MS = 50;
const BLOCK = 1024;

export interface FotaDownloadFigures {
  readonly bytes: number;
  readonly blocks: number;
  readonly seconds: number;
  readonly lockStepSeconds: number;
  readonly ratio: number;
  readonly heapSlotsMax: number | undefined;
  readonly heapSlotsBefore: number | undefined;
}

export async function measureFotaDownload(): Promise<FotaDownloadFigures> {
  const rig = await openFotaRig("bench", { config: { fotaBlockSize: String(BLOCK) } });
  const pkg = signedPackage(rig.keys, MIB, 5, "2.0.0").package;
  const files = await servePackage(pkg);
  try {
    await rig.boot({ netFaults: { delayMs: [RTT_MS / 2, RTT_MS / 2], direction: "both" } });
    await waitUntil(() => registrations(rig) >= 1, "the registration", rig.lines, 60000);
    const before = (await rig.host.measure()).currentHeapCount;
    let heapMax = before;
    const written = await rig.server.write(rig.endpoint, "/5/0/1", files.uri);
    if (!written.success) throw new Error(`Package URI refused: ${written.code}`);
    const total = pkg.length;
    const deadline = Date.now() + 30 * 60 * 1000;
    while (files.bytesServed() < total && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const slots = (await rig.host.measure()).currentHeapCount;
      if (slots !== undefined && (heapMax === undefined || slots > heapMax)) heapMax = slots;
    }
    await waitUntil(() => rig.lines.some((line) => / I fota: package .* downloaded /.test(line)), "the verified download", rig.lines, 120000);
    const blocks = Math.ceil(total / BLOCK);
    // From the first block's request to the last block's answer: one more one-way trip after the last request arrived.
    const seconds = (files.lastServedAt() - files.firstServedAt() + RTT_MS) / 1000;
    const lockStepSeconds = (blocks * RTT_MS) / 1000;
    return { bytes: total, blocks, seconds, lockStepSeconds, ratio: seconds / lockStepSeconds, heapSlotsMax: heapMax, heapSlotsBefore: before };
  } finally {
    files.close();
    await rig.close();
  }
}

export function describeFotaDownload(figures: FotaDownloadFigures): string[] {
  return [
    JSON.stringify({ bench: "fota-download-1MiB-rtt50ms", unit: "s", value: Number(figures.seconds.toFixed(2)), lockStep: figures.lockStepSeconds, ratio: Number(figures.ratio.toFixed(3)), blocks: figures.blocks, bytes: figures.bytes }),
    JSON.stringify({ bench: "fota-download-xs-heap", unit: "heap slots", before: figures.heapSlotsBefore ?? null, max: figures.heapSlotsMax ?? null }),
    `# FOTA pull of ${figures.bytes} bytes in ${figures.blocks} blocks of ${BLOCK} over a ${RTT_MS} ms RTT: ${figures.seconds.toFixed(1)} s, ${figures.ratio.toFixed(3)} × the lock-step limit (${figures.lockStepSeconds.toFixed(1)} s); XS heap ${figures.heapSlotsBefore} slots before, at most ${figures.heapSlotsMax} during`,
  ];
}
