import { utf8Decode, utf8Encode } from "../../coap/message.js";
import { ContentError } from "../model/values.js";

/** The CBOR data items LwM2M needs (RFC 8949): no indefinite lengths, tags are skipped on decode. */
export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | Map<CborValue, CborValue>;

const MAX_DEPTH = 16;
const MAX_ITEMS = 4096;

class Writer {
  private bytes = new Uint8Array(64);
  length = 0;
  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  byte(value: number): void {
    this.ensure(1);
    this.bytes[this.length++] = value;
  }
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }
  head(major: number, value: number): void {
    if (value < 24) this.byte((major << 5) | value);
    else if (value <= 0xff) (this.byte((major << 5) | 24), this.byte(value));
    else if (value <= 0xffff) (this.byte((major << 5) | 25), this.byte(value >> 8), this.byte(value & 0xff));
    else if (value <= 0xffffffff) {
      this.byte((major << 5) | 26);
      for (let shift = 24; shift >= 0; shift -= 8) this.byte((value >>> shift) & 0xff);
    } else {
      this.byte((major << 5) | 27);
      const high = Math.floor(value / 4294967296);
      const low = value - high * 4294967296;
      for (let shift = 24; shift >= 0; shift -= 8) this.byte((high >>> shift) & 0xff);
      for (let shift = 24; shift >= 0; shift -= 8) this.byte((low >>> shift) & 0xff);
    }
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function write(writer: Writer, value: CborValue): void {
  if (value === null) writer.byte(0xf6);
  else if (value === undefined) writer.byte(0xf7);
  else if (value === false) writer.byte(0xf4);
  else if (value === true) writer.byte(0xf5);
  else if (typeof value === "number") {
    if (Number.isSafeInteger(value)) {
      if (value >= 0) writer.head(0, value);
      else writer.head(1, -1 - value);
    } else {
      const single = new DataView(new ArrayBuffer(4));
      single.setFloat32(0, value);
      if (single.getFloat32(0) === value || Number.isNaN(value)) {
        writer.byte(0xfa);
        writer.raw(new Uint8Array(single.buffer));
      } else {
        const double = new DataView(new ArrayBuffer(8));
        double.setFloat64(0, value);
        writer.byte(0xfb);
        writer.raw(new Uint8Array(double.buffer));
      }
    }
  } else if (typeof value === "string") {
    const bytes = utf8Encode(value);
    writer.head(3, bytes.length);
    writer.raw(bytes);
  } else if (value instanceof Uint8Array) {
    writer.head(2, value.length);
    writer.raw(value);
  } else if (Array.isArray(value)) {
    writer.head(4, value.length);
    for (const item of value) write(writer, item);
  } else {
    writer.head(5, value.size);
    for (const [key, item] of value) {
      write(writer, key);
      write(writer, item);
    }
  }
}

export function encodeCbor(value: CborValue): Uint8Array {
  const writer = new Writer();
  write(writer, value);
  return writer.result();
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Decodes one CBOR item that must fill `bytes`; throws ContentError on anything malformed or too deep. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let items = 0;
  const need = (count: number) => {
    if (at + count > bytes.length) throw new ContentError("CBOR item runs past the payload");
  };
  const argument = (info: number): number => {
    if (info < 24) return info;
    if (info === 24) return (need(1), bytes[at++]!);
    if (info === 25) {
      need(2);
      const value = view.getUint16(at);
      at += 2;
      return value;
    }
    if (info === 26) {
      need(4);
      const value = view.getUint32(at);
      at += 4;
      return value;
    }
    if (info === 27) {
      need(8);
      const value = view.getUint32(at) * 4294967296 + view.getUint32(at + 4);
      at += 8;
      if (!Number.isSafeInteger(value)) throw new ContentError("CBOR integer beyond 2^53");
      return value;
    }
    throw new ContentError(`CBOR additional information ${info} (indefinite lengths are not accepted)`);
  };
  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) throw new ContentError("CBOR nested too deeply");
    if (++items > MAX_ITEMS) throw new ContentError("CBOR has too many items");
    need(1);
    const initial = bytes[at++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return argument(info);
      case 1:
        return -1 - argument(info);
      case 2: {
        const length = argument(info);
        need(length);
        const value = bytes.slice(at, at + length);
        at += length;
        return value;
      }
      case 3: {
        const length = argument(info);
        need(length);
        const value = utf8Decode(bytes.subarray(at, at + length));
        at += length;
        return value;
      }
      case 4: {
        const length = argument(info);
        if (length > bytes.length - at) throw new ContentError("CBOR array longer than the payload");
        const list: CborValue[] = [];
        for (let i = 0; i < length; i++) list.push(item(depth + 1));
        return list;
      }
      case 5: {
        const length = argument(info);
        if (length * 2 > bytes.length - at) throw new ContentError("CBOR map longer than the payload");
        const map = new Map<CborValue, CborValue>();
        for (let i = 0; i < length; i++) {
          const key = item(depth + 1);
          map.set(key, item(depth + 1));
        }
        return map;
      }
      case 6:
        argument(info);
        return item(depth + 1);
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        if (info === 25) {
          need(2);
          const value = halfToNumber(view.getUint16(at));
          at += 2;
          return value;
        }
        if (info === 26) {
          need(4);
          const value = view.getFloat32(at);
          at += 4;
          return value;
        }
        if (info === 27) {
          need(8);
          const value = view.getFloat64(at);
          at += 8;
          return value;
        }
        throw new ContentError(`unsupported CBOR simple value ${info}`);
      }
    }
  };
  const value = item(0);
  if (at !== bytes.length) throw new ContentError("trailing bytes after the CBOR item");
  return value;
}
