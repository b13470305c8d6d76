import { utf8Decode, utf8Encode } from "../../coap/message.js";
import { formatPath, parsePathString, pathContains, type LwM2mPath } from "../path.js";
import { isObjectLink, type ResourceDefinition, type ResourceValue } from "../model/types.js";
import { ContentError, type ResourceEntry } from "../model/values.js";
import { base64Decode, base64Encode } from "./base64.js";
import { decodeCbor, encodeCbor, type CborValue } from "./cbor.js";

/** SenML labels and their CBOR keys (RFC 8428 §4.3, §6; "vlo" from LwM2M 1.1 §7.4.5). */
const KEY = Object.freeze({ bn: -2, bt: -3, n: 0, v: 2, vs: 3, vb: 4, t: 6, vd: 8 });

interface SenmlRecord {
  bn?: string;
  n?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: Uint8Array;
  vlo?: string;
  t?: number;
}

/** The ids of a path, outermost first. */
function segments(path: LwM2mPath): number[] {
  const ids = [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId];
  const end = ids.indexOf(undefined);
  return (end < 0 ? ids : ids.slice(0, end)) as number[];
}

/** The deepest path holding every entry, or undefined (the root) when they span objects. */
export function commonBase(entries: readonly ResourceEntry[]): LwM2mPath | undefined {
  if (entries.length === 0) return undefined;
  let shared = segments(entries[0]!.path);
  for (const entry of entries) {
    const ids = segments(entry.path);
    let length = 0;
    while (length < shared.length && length < ids.length && shared[length] === ids[length]) length++;
    shared = shared.slice(0, length);
  }
  if (shared.length === 0) return undefined;
  return { objectId: shared[0]!, instanceId: shared[1], resourceId: shared[2], resourceInstanceId: shared[3] };
}

/**
 * `base` undefined means the root (composite operations): names carry whole
 * paths. Names are built from path ids, never by cutting strings, and every
 * entry must lie at or below `base`.
 */
function toRecords(base: LwM2mPath | undefined, entries: readonly ResourceEntry[]): SenmlRecord[] {
  const baseName = base ? formatPath(base) : "";
  const depth = base ? segments(base).length : 0;
  return entries.map((entry, index) => {
    if (base && !pathContains(base, entry.path)) throw new RangeError(`${formatPath(entry.path)} lies outside ${baseName}`);
    const record: SenmlRecord = {};
    if (index === 0 && baseName) record.bn = baseName;
    const rest = segments(entry.path).slice(depth);
    if (rest.length) record.n = `/${rest.join("/")}`;
    const value = entry.value;
    if (value instanceof Uint8Array) record.vd = value;
    else if (typeof value === "string") record.vs = value;
    else if (typeof value === "boolean") record.vb = value;
    else if (isObjectLink(value)) record.vlo = `${value.objectId}:${value.instanceId}`;
    else record.v = value;
    return record;
  });
}

function fromRecords(base: LwM2mPath | undefined, records: readonly SenmlRecord[], lookup: (objectId: number, resourceId: number) => ResourceDefinition | undefined): ResourceEntry[] {
  let baseName = "";
  const entries: ResourceEntry[] = [];
  for (const record of records) {
    if (record.bn !== undefined) baseName = record.bn;
    const name = baseName + (record.n ?? "");
    const path = parsePathString(name);
    if (!path || path.resourceId === undefined) throw new ContentError(`SenML name "${name}" is not a resource path`);
    if (base && !pathContains(base, path)) throw new ContentError(`SenML record ${name} lies outside ${formatPath(base)}`);
    const definition = lookup(path.objectId, path.resourceId);
    if (!definition) throw new ContentError(`resource ${name} is not defined`);
    let value: ResourceValue;
    if (record.vd !== undefined) value = record.vd;
    else if (record.vs !== undefined) value = record.vs;
    else if (record.vb !== undefined) value = record.vb;
    else if (record.vlo !== undefined) {
      const match = /^([0-9]+):([0-9]+)$/.exec(record.vlo);
      if (!match) throw new ContentError(`bad object link "${record.vlo}"`);
      value = { objectId: Number(match[1]), instanceId: Number(match[2]) };
    } else if (record.v !== undefined) value = record.v;
    else throw new ContentError(`SenML record ${name} has no value`);
    if (definition.type === "time" && typeof value === "number") value = Math.trunc(value);
    entries.push({ path, value, type: definition.type });
  }
  return entries;
}

// --- SenML JSON (content format 110) ---

export function encodeSenmlJson(base: LwM2mPath | undefined, entries: readonly ResourceEntry[]): Uint8Array {
  const records = toRecords(base, entries).map((record) => {
    const json: Record<string, unknown> = {};
    if (record.bn !== undefined) json["bn"] = record.bn;
    if (record.n !== undefined) json["n"] = record.n;
    if (record.v !== undefined) json["v"] = record.v;
    if (record.vs !== undefined) json["vs"] = record.vs;
    if (record.vb !== undefined) json["vb"] = record.vb;
    if (record.vd !== undefined) json["vd"] = base64Encode(record.vd, true);
    if (record.vlo !== undefined) json["vlo"] = record.vlo;
    return json;
  });
  return utf8Encode(JSON.stringify(records));
}

export function decodeSenmlJson(base: LwM2mPath | undefined, bytes: Uint8Array, lookup: (objectId: number, resourceId: number) => ResourceDefinition | undefined): ResourceEntry[] {
  return fromRecords(base, parseSenmlJson(bytes), lookup);
}

function parseSenmlJson(bytes: Uint8Array): SenmlRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(bytes));
  } catch {
    throw new ContentError("SenML JSON does not parse");
  }
  if (!Array.isArray(parsed)) throw new ContentError("SenML JSON must be an array of records");
  const records = parsed.map((item): SenmlRecord => {
    if (!item || typeof item !== "object" || Array.isArray(item)) throw new ContentError("SenML JSON record must be an object");
    const source = item as Record<string, unknown>;
    const record: SenmlRecord = {};
    const text = (key: string) => {
      const value = source[key];
      if (value === undefined) return undefined;
      if (typeof value !== "string") throw new ContentError(`SenML "${key}" must be a string`);
      return value;
    };
    record.bn = text("bn");
    record.n = text("n");
    record.vs = text("vs");
    record.vlo = text("vlo");
    const vd = text("vd");
    if (vd !== undefined) {
      const decoded = base64Decode(vd);
      if (!decoded) throw new ContentError('SenML "vd" is not base64');
      record.vd = decoded;
    }
    if (source["v"] !== undefined) {
      if (typeof source["v"] !== "number") throw new ContentError('SenML "v" must be a number');
      record.v = source["v"];
    }
    if (source["vb"] !== undefined) {
      if (typeof source["vb"] !== "boolean") throw new ContentError('SenML "vb" must be a boolean');
      record.vb = source["vb"];
    }
    return record;
  });
  return records;
}

// --- SenML CBOR (content format 112) ---

export function encodeSenmlCbor(base: LwM2mPath | undefined, entries: readonly ResourceEntry[]): Uint8Array {
  const records: CborValue[] = toRecords(base, entries).map((record) => {
    const map = new Map<CborValue, CborValue>();
    if (record.bn !== undefined) map.set(KEY.bn, record.bn);
    if (record.n !== undefined) map.set(KEY.n, record.n);
    if (record.v !== undefined) map.set(KEY.v, record.v);
    if (record.vs !== undefined) map.set(KEY.vs, record.vs);
    if (record.vb !== undefined) map.set(KEY.vb, record.vb);
    if (record.vd !== undefined) map.set(KEY.vd, record.vd);
    if (record.vlo !== undefined) map.set("vlo", record.vlo);
    return map;
  });
  return encodeCbor(records);
}

export function decodeSenmlCbor(base: LwM2mPath | undefined, bytes: Uint8Array, lookup: (objectId: number, resourceId: number) => ResourceDefinition | undefined): ResourceEntry[] {
  return fromRecords(base, parseSenmlCbor(bytes), lookup);
}

function parseSenmlCbor(bytes: Uint8Array): SenmlRecord[] {
  const parsed = decodeCbor(bytes);
  if (!Array.isArray(parsed)) throw new ContentError("SenML CBOR must be an array of records");
  const records = parsed.map((item): SenmlRecord => {
    if (!(item instanceof Map)) throw new ContentError("SenML CBOR record must be a map");
    const record: SenmlRecord = {};
    for (const [key, value] of item) {
      const expect = (ok: boolean, what: string) => {
        if (!ok) throw new ContentError(`SenML CBOR ${what}`);
      };
      if (key === KEY.bn) (expect(typeof value === "string", "bn must be text"), (record.bn = value as string));
      else if (key === KEY.n) (expect(typeof value === "string", "n must be text"), (record.n = value as string));
      else if (key === KEY.v) (expect(typeof value === "number", "v must be a number"), (record.v = value as number));
      else if (key === KEY.vs) (expect(typeof value === "string", "vs must be text"), (record.vs = value as string));
      else if (key === KEY.vb) (expect(typeof value === "boolean", "vb must be a boolean"), (record.vb = value as boolean));
      else if (key === KEY.vd) (expect(value instanceof Uint8Array, "vd must be bytes"), (record.vd = value as Uint8Array));
      else if (key === "vlo") (expect(typeof value === "string", "vlo must be text"), (record.vlo = value as string));
    }
    return record;
  });
  return records;
}

/** The paths named by a composite request's SenML records (values are ignored). */
export function decodeSenmlPaths(format: "json" | "cbor", bytes: Uint8Array): LwM2mPath[] {
  const records = format === "json" ? parseSenmlJson(bytes) : parseSenmlCbor(bytes);
  let baseName = "";
  return records.map((record) => {
    if (record.bn !== undefined) baseName = record.bn;
    const name = baseName + (record.n ?? "");
    const path = parsePathString(name);
    if (!path) throw new ContentError(`SenML name "${name}" is not an LwM2M path`);
    return path;
  });
}
