/** Cryptographically strong random bytes (tokens, message IDs, DTLS randoms). */
export interface RandomSource {
  fill(target: Uint8Array): void;
}

export function randomUint16(source: RandomSource): number {
  const bytes = new Uint8Array(2);
  source.fill(bytes);
  return (bytes[0]! << 8) | bytes[1]!;
}
