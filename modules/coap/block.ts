import { decodeUint, encodeUint } from "./message.js";

/** A Block1 or Block2 option value (RFC 7959 §2.2). */
export interface BlockOption {
  readonly num: number;
  readonly more: boolean;
  /** Size exponent: block size = 2^(szx+4), 0..6 (16..1024 bytes). */
  readonly szx: number;
}

export const MAX_SZX = 6;
/** SZX 7 is reserved (BERT over TCP only). */
export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}

/** Largest SZX whose block fits `bytes`. */
export function szxForSize(bytes: number): number {
  let szx = MAX_SZX;
  while (szx > 0 && blockSize(szx) > bytes) szx--;
  return szx;
}

export function encodeBlock(block: BlockOption): Uint8Array {
  if (block.szx < 0 || block.szx > MAX_SZX || block.num < 0 || block.num >= 1 << 20) throw new RangeError(`block ${block.num}/${block.szx} out of range`);
  return encodeUint((block.num << 4) | (block.more ? 8 : 0) | block.szx);
}

/** Returns undefined for a value this stack does not accept (SZX 7, longer than 3 bytes). */
export function decodeBlock(value: Uint8Array): BlockOption | undefined {
  if (value.length > 3) return undefined;
  const raw = decodeUint(value);
  const szx = raw & 0x07;
  if (szx > MAX_SZX) return undefined;
  return { num: raw >>> 4, more: (raw & 0x08) !== 0, szx };
}
