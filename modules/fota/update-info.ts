import { utf8Decode, utf8Encode } from "../coap/message.js";

/** Where an update stands, as persisted in the storage device's update-info record. */
export type UpdatePhase = "idle" | "downloading" | "downloaded" | "updating";

/**
 * The update-info record (FirmwareStorage.writeUpdateInfo): enough to carry
 * an update across a reboot or a power loss. Written at each state change
 * and at download checkpoints; a power loss keeps the old or the new record.
 */
export interface UpdateInfo {
  readonly phase: UpdatePhase;
  /** "pull" (Package URI) or "push" (Package written block-wise). */
  readonly delivery?: "pull" | "push";
  readonly uri?: string;
  /** Bytes written and kept: a resumed download continues here. */
  readonly offset?: number;
  /** Identity of the resource being downloaded (CoAP ETag, HTTP entity tag), hex. */
  readonly etag?: string;
  /** Package size when the server told it. */
  readonly size?: number;
  /** Package length once downloaded. */
  readonly length?: number;
  /** PkgName and PkgVersion of a verified package. */
  readonly name?: string;
  readonly version?: string;
  /** Update Result to show (/5/0/5). */
  readonly result?: number;
  /** Version and name of the image running now, once an update has been activated. */
  readonly runningVersion?: string;
  readonly runningName?: string;
}

const FORMAT = 1;

export function encodeUpdateInfo(info: UpdateInfo): Uint8Array {
  return utf8Encode(JSON.stringify({ f: FORMAT, ...info }));
}

/** The record, or undefined when there is none or it is not one this firmware wrote. */
export function decodeUpdateInfo(bytes: Uint8Array | undefined): UpdateInfo | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record["f"] !== FORMAT) return undefined;
  const phase = record["phase"];
  if (phase !== "idle" && phase !== "downloading" && phase !== "downloaded" && phase !== "updating") return undefined;
  const text = (key: string) => (typeof record[key] === "string" ? (record[key] as string) : undefined);
  const count = (key: string) => (typeof record[key] === "number" && Number.isInteger(record[key]) && (record[key] as number) >= 0 ? (record[key] as number) : undefined);
  const delivery = record["delivery"] === "pull" || record["delivery"] === "push" ? record["delivery"] : undefined;
  return prune({
    phase,
    delivery,
    uri: text("uri"),
    offset: count("offset"),
    etag: text("etag"),
    size: count("size"),
    length: count("length"),
    name: text("name"),
    version: text("version"),
    result: count("result"),
    runningVersion: text("runningVersion"),
    runningName: text("runningName"),
  });
}

function prune(info: { [key: string]: unknown }): UpdateInfo {
  for (const key of Object.keys(info)) if (info[key] === undefined) delete info[key];
  return info as unknown as UpdateInfo;
}
