/** Cryptographically strong random bytes (tokens, message IDs, DTLS randoms). */
export interface RandomSource {
  fill(target: Uint8Array): void;
}

export function randomUint16(source: RandomSource): number {
  const bytes = new Uint8Array(2);
  source.fill(bytes);
  return (bytes[0]! << 8) | bytes[1]!;
}

export function randomUint32(source: RandomSource): number {
  const bytes = new Uint8Array(4);
  source.fill(bytes);
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

export function randomBytes(source: RandomSource, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  source.fill(bytes);
  return bytes;
}
