/** CRC-32 (IEEE 802.3, reflected, init and final XOR 0xFFFFFFFF). */

// Built at module load, so preload places it in flash; never written afterwards.
const CRC_TABLE: Uint32Array = (() => {
  const built = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    built[n] = c >>> 0;
  }
  return built;
})();

/** CRC of `data`; pass a previous result to continue over several chunks. */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
