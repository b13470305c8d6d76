import type { CryptoEngine } from "../../hal/crypto.js";
import type { Platform } from "../../hal/platform.js";

const warned = new Set<string>();

/** The platform's crypto engine, or undefined (Node, the stock XS worker) after saying once per suite why its tests skip. */
export function cryptoOf(platform: Platform, suiteName: string): CryptoEngine | undefined {
  if (!platform.crypto && !warned.has(suiteName)) {
    warned.add(suiteName);
    platform.log.warn(`${suiteName} suite skipped: no crypto binding here (modules/crypto runs inside XS on the worker npm install builds, and on devices)`);
  }
  return platform.crypto;
}

export function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return text;
}

/** A copy of `bytes` with bit `bit` of byte `index` flipped. */
export function flipped(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const copy = bytes.slice();
  copy[index] = copy[index]! ^ (1 << bit);
  return copy;
}

export function sha256Of(engine: CryptoEngine, ...parts: Uint8Array[]): Uint8Array {
  const hash = engine.createSha256();
  for (const part of parts) hash.update(part);
  return hash.digest();
}
