/** Text and hex helpers of the AT dialogue (no TextEncoder in every XS build). */

const HEX = "0123456789ABCDEF";

/** Upper-case hex, as BC95 NSOST wants it. */
export function toHex(data: Uint8Array): string {
  let text = "";
  for (let i = 0; i < data.length; i++) text += HEX[data[i]! >> 4]! + HEX[data[i]! & 15]!;
  return text;
}

/** Bytes of a hex string (either case); undefined when it is not hex. */
export { fromHex } from "../coap/message.js";

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
