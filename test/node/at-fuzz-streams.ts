import type { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import type { ModemKind } from "../../modules/at/modem-settings.js";
import { bytes, concat } from "../conformance/at-scripted-modem.js";

/**
 * Byte streams for fuzzing the AT engine: pure noise, and fragments of the
 * dialogue of modules/at/command-sets.md (lines, URCs, +IPD / +RECEIVE frames,
 * BC95 NSORF lines), mutated. Everything is drawn from one SeededRandom, so a
 * failing stream is reproduced by its seed and index.
 */

const CRLF = "\r\n";
const ADDRESSES = ["10.9.8.7", "1.2.3.4", "192.168.4.2", "255.255.255.255", "0.0.0.0", "1.2.3", "999.1.1.1", ""];

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[random.between(0, items.length - 1)]!;
}

function noise(random: SeededRandom, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = random.nextUint32() & 0xff;
  return out;
}

/** A length field: mostly sane, often hostile (huge, negative, not a number, empty, padded). */
function lengthField(random: SeededRandom, sane: number): string {
  if (random.chance(0.6)) return String(sane);
  return pick(random, ["99999", "2049", "1461", "65536", "4294967296", "1e3", "-1", "-5", "NaN", "abc", "", " 5", "5 ", "+5", "0x10", "00005", "12345678901234567890", "0"]);
}

function linkField(random: SeededRandom): string {
  return random.chance(0.85) ? String(random.between(0, 7)) : pick(random, ["-1", "a", "", "10", "123456789", " 1"]);
}

function portField(random: SeededRandom): string {
  return random.chance(0.8) ? String(pick(random, [5683, 5684, 80, 56000])) : pick(random, ["99999", "0", "-1", "x", ""]);
}

/** Data for a frame: small mostly, sometimes holding line ends and final results. */
function frameData(random: SeededRandom, length: number): Uint8Array {
  if (random.chance(0.3)) {
    const text = bytes(`${CRLF}OK${CRLF}+IPD,0,3:abc${CRLF}SEND OK${CRLF}> `);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = text[i % text.length]!;
    return out;
  }
  return noise(random, length);
}

function ipdFrame(random: SeededRandom): Uint8Array {
  const size = random.chance(0.95) ? random.between(0, 48) : random.between(49, 2048);
  const withRemote = random.chance(0.8);
  let header = `+IPD,${linkField(random)},${lengthField(random, size)}`;
  if (withRemote) header += `,${pick(random, ADDRESSES)},${portField(random)}`;
  if (random.chance(0.05)) header += ",extra";
  const colon = random.chance(0.93) ? ":" : pick(random, ["", ";", CRLF]);
  return concat(bytes(`${CRLF}${header}${colon}`), frameData(random, size));
}

function receiveFrame(random: SeededRandom): Uint8Array {
  const size = random.chance(0.95) ? random.between(0, 48) : random.between(49, 1460);
  const colon = random.chance(0.93) ? ":" : pick(random, ["", ";"]);
  const after = random.chance(0.9) ? CRLF : pick(random, ["", "\r", "\n", "\n\r", "\r\n\r\n"]);
  return concat(bytes(`${CRLF}+RECEIVE,${linkField(random)},${lengthField(random, size)}${colon}${after}`), frameData(random, size));
}

function hex(random: SeededRandom, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += (random.nextUint32() & 0xff).toString(16).padStart(2, "0").toUpperCase();
  return text;
}

function nsorfLine(random: SeededRandom): string {
  const size = random.between(0, 100);
  return `${linkField(random)},${pick(random, ADDRESSES)},${portField(random)},${lengthField(random, size)},${hex(random, size)},${random.between(0, 3)}`;
}

const ESP_LINES = [
  "OK", "ERROR", "SEND OK", "SEND FAIL", "Recv 12 bytes", "0,CONNECT", "1,CONNECT", "0,CLOSED", "3,CLOSED", "busy p...", "busy s...",
  '+CIFSR:STAIP,"192.168.4.2"', '+CIFSR:STAMAC,"18:fe:34:12:34:56"', "WIFI CONNECTED", "WIFI GOT IP", "ALREADY CONNECTED", "UNLINK",
  "+CWJAP:2", "FAIL", "DNS Fail", "+CIPDOMAIN:93.184.216.34", "link is not valid", 'AT+CIPSEND=0,12,"10.9.8.7",5683', "ATE0", "AT+CIFSR",
];
const SIM_LINES = [
  "OK", "ERROR", "0, CONNECT OK", "0, CONNECT FAIL", "0, ALREADY CONNECT", "0, SEND OK", "0, SEND FAIL", "0, CLOSE OK", "0, CLOSED", "SHUT OK",
  "+CPIN: READY", "+CREG: 0,1", "+CREG: 0,2", "+CREG: 0,3", '+COPS: 0,0,"CHINA MOBILE"', "+CGATT: 1", "+CGATT: 0", "+CME ERROR: 10", "10.64.12.7",
  '+CDNSGIP: 1,"example.com","93.184.216.34"', "+CDNSGIP: 0,8", "AT+CIPSEND=0,12", "AT+CREG?",
];
const BC95_LINES = [
  "OK", "ERROR", "+CME ERROR:4", "+CGATT:1", "+CGATT:0", "+CSQ:20,99", "+CGPADDR:0,10.1.2.3", "+CGSN:490154203237518", "0", "1", "0,12", "REBOOTING",
];
/** Lines that restart or disconnect the module: rare, or the engine would do nothing but recover. */
const LOSS_LINES: Readonly<Record<ModemKind, readonly string[]>> = Object.freeze({
  esp8266: ["ready", "WIFI DISCONNECT"],
  sim900a: ["+PDP: DEACT", "RDY", "+CFUN: 1", "Call Ready"],
  bc95: ["REBOOT_CAUSE_APPLICATION_AT", "Neul "],
});
const BOOT_NOISE = Uint8Array.of(0xe0, 0x1c, 0x8c, 0x02, 0xfe, 0x0d, 0x8c, 0x7e, 0x3e, 0x4f, 0x4b);

/** One valid fragment of the dialogue of `kind` ("all": any module's). */
function fragment(random: SeededRandom, kind: ModemKind | "all", lossRate: number): Uint8Array {
  const module: ModemKind = kind === "all" ? pick(random, ["esp8266", "sim900a", "bc95"] as const) : kind;
  const roll = random.next();
  if (random.chance(lossRate)) return bytes(`${CRLF}${pick(random, LOSS_LINES[module])}${CRLF}`);
  if (roll < 0.05) return bytes(random.chance(0.5) ? "> " : ">");
  if (roll < 0.08) return BOOT_NOISE;
  if (module === "esp8266") {
    if (roll < 0.45) return ipdFrame(random);
    return bytes(`${CRLF}${pick(random, ESP_LINES)}${CRLF}`);
  }
  if (module === "sim900a") {
    if (roll < 0.45) return receiveFrame(random);
    return bytes(`${CRLF}${pick(random, SIM_LINES)}${CRLF}`);
  }
  if (roll < 0.3) return bytes(`${CRLF}+NSONMI:${linkField(random)},${lengthField(random, random.between(0, 512))}${CRLF}`);
  if (roll < 0.55) return bytes(`${CRLF}${nsorfLine(random)}${CRLF}`);
  return bytes(`${CRLF}${pick(random, BC95_LINES)}${CRLF}`);
}

function insert(data: Uint8Array, at: number, extra: Uint8Array): Uint8Array {
  return concat(data.subarray(0, at), extra, data.subarray(at));
}

const SPECIAL_BYTES = [13, 10, 58, 62, 44, 0, 0xff, 43, 32];

/** One mutation of `data`: bit flip, byte change, truncation, duplication, insertion, deletion, CR/LF storm, a very long run, a stray prefix. */
function mutate(random: SeededRandom, data: Uint8Array, maxRun: number): Uint8Array {
  const at = random.between(0, data.length);
  switch (random.between(0, 9)) {
    case 0:
      if (data.length === 0) return data;
      data = data.slice();
      data[at % data.length] = data[at % data.length]! ^ (1 << random.between(0, 7));
      return data;
    case 1:
      if (data.length === 0) return data;
      data = data.slice();
      data[at % data.length] = random.chance(0.5) ? pick(random, SPECIAL_BYTES) : random.nextUint32() & 0xff;
      return data;
    case 2:
      return data.subarray(0, at);
    case 3: {
      const from = random.between(0, at);
      return insert(data, at, data.slice(from, at));
    }
    case 4:
      return insert(data, at, random.chance(0.5) ? noise(random, random.between(1, 8)) : Uint8Array.of(pick(random, SPECIAL_BYTES)));
    case 5:
      return concat(data.subarray(0, at), data.subarray(Math.min(data.length, at + random.between(1, 4))));
    case 6: {
      const storm = new Uint8Array(random.between(1, maxRun));
      for (let i = 0; i < storm.length; i++) storm[i] = random.chance(0.5) ? 13 : 10;
      return insert(data, at, storm);
    }
    case 7: {
      const run = new Uint8Array(random.between(200, Math.max(300, maxRun)));
      const fill = random.chance(0.5) ? 0x41 : 0x3a; // "A…" or ":::…" (a colon checks for a frame header each time)
      run.fill(fill);
      if (random.chance(0.3)) run.set(bytes("+IPD,0,4,1.2.3.4,1:"), random.between(0, run.length - 20));
      return insert(data, at, run);
    }
    case 8:
      return insert(data, at, bytes(pick(random, ["+IPD,", "+RECEIVE,", "+NSONMI:", "+IPD,0,", "+RECEIVE,1,", ":", ",:"])));
    default:
      return data.subarray(at);
  }
}

export interface StreamOptions {
  readonly kind: ModemKind | "all";
  /** Longest pure-noise stream and most fragments in one stream. */
  readonly maxNoise: number;
  readonly maxFragments: number;
  /** How often a fragment is a restart / disconnect line. */
  readonly lossRate: number;
  /** Longest CR/LF storm or over-long line (more than 256 bytes, the line bound). */
  readonly maxRun: number;
}

/** The next fuzz stream. */
export function fuzzStream(random: SeededRandom, options: StreamOptions): Uint8Array {
  const roll = random.next();
  if (roll < 0.15) return noise(random, random.between(0, options.maxNoise));
  let data: Uint8Array;
  if (roll < 0.2) data = new Uint8Array(0);
  else {
    const parts: Uint8Array[] = [];
    const count = random.between(1, options.maxFragments);
    for (let i = 0; i < count; i++) parts.push(fragment(random, options.kind, options.lossRate));
    data = concat(...parts);
  }
  const edits = roll < 0.2 ? random.between(1, 3) : random.between(0, 3);
  for (let i = 0; i < edits; i++) data = mutate(random, data, options.maxRun);
  return data;
}

/** Splits `data` into chunks: one byte each, random sizes, or whole. */
export function chunks(random: SeededRandom, data: Uint8Array): Uint8Array[] {
  const roll = random.next();
  if (roll < 0.2) return [data];
  const out: Uint8Array[] = [];
  const oneByte = roll < 0.45;
  for (let offset = 0; offset < data.length; ) {
    const size = oneByte ? 1 : random.between(1, 64);
    out.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}
