/** Text and hex helpers of the AT dialogue (no TextEncoder in every XS build). */

const HEX = "0123456789ABCDEF";

/** UTF-8 bytes of `text` (SSIDs and APNs may hold any character). */
export function encodeText(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return Uint8Array.from(bytes);
}

/** Upper-case hex, as BC95 NSOST wants it. */
export function toHex(data: Uint8Array): string {
  let text = "";
  for (let i = 0; i < data.length; i++) text += HEX[data[i]! >> 4]! + HEX[data[i]! & 15]!;
  return text;
}

/** Bytes of a hex string (either case); undefined when it is not hex. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) return undefined;
  const data = new Uint8Array(text.length / 2);
  for (let i = 0; i < data.length; i++) data[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return data;
}

/** A quoted AT string argument; the modules have no escape for `"`, so it is refused. */
export function quoted(value: string): string {
  if (value.indexOf('"') >= 0 || value.indexOf("\r") >= 0 || value.indexOf("\n") >= 0) {
    throw new RangeError("AT string arguments cannot hold quotes or line ends");
  }
  return `"${value}"`;
}

/** A decimal field (no sign, no blanks), or NaN. */
export function decimal(text: string | undefined): number {
  return text !== undefined && /^\d{1,9}$/.test(text.trim()) ? parseInt(text.trim(), 10) : NaN;
}
