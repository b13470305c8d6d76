/**
 * Deterministic test images (`npm run fota -- make-image`): the same size and
 * seed give the same bytes everywhere. Plain TypeScript with no Node API, so
 * XS suites and benchmarks can make the same bytes.
 */

/** `size` bytes from a xorshift32 generator started at `seed` (any integer; 0 is replaced). */
export function makeTestImage(size: number, seed: number): Uint8Array {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`image size must be a whole number of bytes, got ${size}`);
  const image = new Uint8Array(size);
  let state = (seed >>> 0) || 0x9e3779b9;
  let i = 0;
  while (i < size) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    for (let k = 0; k < 4 && i < size; k++, i++) image[i] = (state >>> (k * 8)) & 0xff;
  }
  return image;
}
