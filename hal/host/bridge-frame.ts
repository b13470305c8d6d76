/**
 * Frames exchanged between the firmware in XS and its Node host:
 * u32 big-endian header length | header as JSON (UTF-8) | raw payload bytes.
 * Requests (XS → Node) carry {op, ...}; events (Node → XS) carry {ev, ...}.
 */
export interface Frame {
  readonly header: { readonly [key: string]: unknown };
  readonly payload?: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeFrame(header: object, payload?: Uint8Array): ArrayBuffer {
  const json = encoder.encode(JSON.stringify(header));
  const payloadLength = payload ? payload.length : 0;
  const bytes = new Uint8Array(4 + json.length + payloadLength);
  new DataView(bytes.buffer).setUint32(0, json.length);
  bytes.set(json, 4);
  if (payload) bytes.set(payload, 4 + json.length);
  return bytes.buffer;
}

export function decodeFrame(buffer: ArrayBuffer | Uint8Array): Frame {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.length < 4) throw new Error("bridge frame shorter than its length prefix");
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + headerLength > bytes.length) throw new Error("bridge frame header overruns the frame");
  const header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headerLength))) as Frame["header"];
  const payload = bytes.length > 4 + headerLength ? bytes.slice(4 + headerLength) : undefined;
  return { header, payload };
}
