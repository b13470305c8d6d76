import type { SettingValue } from "../storage.js";

// Stored form: one type byte, then the value ('s' UTF-8 text, 'n' float64, 'b' 0/1, 'u' raw bytes).
export function encodeSetting(value: SettingValue): ArrayBuffer {
  if (value instanceof Uint8Array) return withTag(0x75, value);
  if (typeof value === "string") return withTag(0x73, new Uint8Array(ArrayBuffer.fromString(value)));
  if (typeof value === "number") {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    return withTag(0x6e, bytes);
  }
  return withTag(0x62, Uint8Array.of(value ? 1 : 0));
}

export function decodeSetting(stored: ArrayBuffer): SettingValue | undefined {
  const bytes = new Uint8Array(stored);
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case 0x75:
      return body.slice();
    case 0x73:
      return String.fromArrayBuffer(body.slice().buffer);
    case 0x6e:
      return body.length === 8 ? new DataView(body.slice().buffer).getFloat64(0) : undefined;
    case 0x62:
      return body[0] === 1;
    default:
      return undefined;
  }
}

function withTag(tag: number, body: Uint8Array): ArrayBuffer {
  const bytes = new Uint8Array(body.length + 1);
  bytes[0] = tag;
  bytes.set(body, 1);
  return bytes.buffer;
}
