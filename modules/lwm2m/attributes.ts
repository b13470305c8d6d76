import { formatPath, type LwM2mPath } from "./path.js";

/** Notification attributes (OMA-TS-LightweightM2M_Core §5.1.2). */
export interface NotificationAttributes {
  pmin?: number;
  pmax?: number;
  gt?: number;
  lt?: number;
  st?: number;
  epmin?: number;
  epmax?: number;
}

export const ATTRIBUTE_NAMES: readonly (keyof NotificationAttributes)[] = Object.freeze(["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"]);

/**
 * The most paths one server may attach attributes to. Beyond it Write-Attributes
 * is answered 4.00 Bad Request: the TS lists only 2.04, 4.00, 4.01, 4.04 and 4.05
 * for the operation, and a full store is a request this client cannot take.
 */
export const MAX_ATTRIBUTE_PATHS = 64;

export class AttributeError extends Error {}

/** Parses Write-Attributes queries ("pmin=10", "gt=2.5", "pmax" to clear). */
export function parseAttributeQueries(queries: readonly string[], numericResource: boolean | undefined): { set: NotificationAttributes; clear: (keyof NotificationAttributes)[] } {
  const set: NotificationAttributes = {};
  const clear: (keyof NotificationAttributes)[] = [];
  for (const query of queries) {
    const [name, value] = query.split("=", 2) as [string, string | undefined];
    if (ATTRIBUTE_NAMES.indexOf(name as keyof NotificationAttributes) < 0) throw new AttributeError(`unknown attribute "${name}"`);
    const key = name as keyof NotificationAttributes;
    if ((key === "gt" || key === "lt" || key === "st") && numericResource === false) throw new AttributeError(`${key} applies to numeric resources only`);
    if ((key === "gt" || key === "lt" || key === "st") && numericResource === undefined) throw new AttributeError(`${key} can only be set on a resource`);
    if (value === undefined || value === "") {
      clear.push(key);
      continue;
    }
    const number = Number(value);
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value) || !Number.isFinite(number)) throw new AttributeError(`${key}=${value} is not a number`);
    if ((key === "pmin" || key === "pmax" || key === "epmin" || key === "epmax") && (!Number.isInteger(number) || number < 0)) throw new AttributeError(`${key} must be a non-negative integer`);
    if (key === "st" && number < 0) throw new AttributeError("st must not be negative");
    set[key] = number;
  }
  return { set, clear };
}

/** The attributes one server attached to paths; resource values inherit from instance and object levels. */
export class AttributeStore {
  private readonly byPath = new Map<string, NotificationAttributes>();

  get(path: LwM2mPath): NotificationAttributes | undefined {
    return this.byPath.get(formatPath(path));
  }

  apply(path: LwM2mPath, change: { set: NotificationAttributes; clear: readonly (keyof NotificationAttributes)[] }): void {
    const key = formatPath(path);
    const next: NotificationAttributes = { ...(this.byPath.get(key) ?? {}), ...change.set };
    for (const name of change.clear) delete next[name];
    if (next.pmin !== undefined && next.pmax !== undefined && next.pmax > 0 && next.pmax < next.pmin) throw new AttributeError("pmax must not be below pmin");
    // §5.1.2: lt must be below gt, and with st, lt + 2×st must be too.
    if (next.lt !== undefined && next.gt !== undefined && next.lt >= next.gt) throw new AttributeError("lt must be below gt");
    if (next.lt !== undefined && next.gt !== undefined && next.st !== undefined && next.lt + 2 * next.st >= next.gt) throw new AttributeError("lt + 2×st must be below gt");
    const empty = Object.keys(next).length === 0;
    if (!empty && !this.byPath.has(key) && this.byPath.size >= MAX_ATTRIBUTE_PATHS) throw new AttributeError(`attributes are held for at most ${MAX_ATTRIBUTE_PATHS} paths`);
    if (empty) this.byPath.delete(key);
    else this.byPath.set(key, next);
  }

  /** Effective attributes at `path`: the nearest level wins, then the server's defaults. */
  effective(path: LwM2mPath, defaults: NotificationAttributes): NotificationAttributes {
    const levels: LwM2mPath[] = [{ objectId: path.objectId }];
    if (path.instanceId !== undefined) levels.push({ objectId: path.objectId, instanceId: path.instanceId });
    if (path.resourceId !== undefined) levels.push({ objectId: path.objectId, instanceId: path.instanceId, resourceId: path.resourceId });
    if (path.resourceInstanceId !== undefined) levels.push(path);
    const result: NotificationAttributes = { ...defaults };
    for (const level of levels) Object.assign(result, this.get(level) ?? {});
    return result;
  }

  clearBelow(path: LwM2mPath): void {
    const prefix = formatPath(path);
    for (const key of Array.from(this.byPath.keys())) if (key === prefix || key.startsWith(`${prefix}/`)) this.byPath.delete(key);
  }
}
