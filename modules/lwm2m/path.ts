/** An LwM2M path: /object[/instance[/resource[/resource-instance]]]. */
export interface LwM2mPath {
  readonly objectId: number;
  readonly instanceId?: number;
  readonly resourceId?: number;
  readonly resourceInstanceId?: number;
}

export const MAX_ID = 65534; // 65535 is reserved (MAX_ID in OMA-TS-LightweightM2M_Core)

export type PathLevel = "root" | "object" | "instance" | "resource" | "resource-instance";

export function pathLevel(path: LwM2mPath | undefined): PathLevel {
  if (!path) return "root";
  if (path.instanceId === undefined) return "object";
  if (path.resourceId === undefined) return "instance";
  if (path.resourceInstanceId === undefined) return "resource";
  return "resource-instance";
}

/** Parses Uri-Path segments; undefined for anything that is not 1..4 numeric ids in range. */
export function parsePath(segments: readonly string[]): LwM2mPath | undefined {
  if (segments.length === 0 || segments.length > 4) return undefined;
  const ids: number[] = [];
  for (const segment of segments) {
    if (!/^(0|[1-9][0-9]{0,4})$/.test(segment)) return undefined;
    const id = Number(segment);
    if (id > MAX_ID) return undefined;
    ids.push(id);
  }
  return { objectId: ids[0]!, instanceId: ids[1], resourceId: ids[2], resourceInstanceId: ids[3] };
}

export function parsePathString(text: string): LwM2mPath | undefined {
  const trimmed = text.replace(/^\/+|\/+$/g, "");
  return trimmed ? parsePath(trimmed.split("/")) : undefined;
}

export function formatPath(path: LwM2mPath): string {
  let text = `/${path.objectId}`;
  if (path.instanceId !== undefined) text += `/${path.instanceId}`;
  if (path.resourceId !== undefined) text += `/${path.resourceId}`;
  if (path.resourceInstanceId !== undefined) text += `/${path.resourceInstanceId}`;
  return text;
}

/** True when `inner` is `outer` or below it. */
export function pathContains(outer: LwM2mPath, inner: LwM2mPath): boolean {
  if (outer.objectId !== inner.objectId) return false;
  if (outer.instanceId !== undefined && outer.instanceId !== inner.instanceId) return false;
  if (outer.resourceId !== undefined && outer.resourceId !== inner.resourceId) return false;
  if (outer.resourceInstanceId !== undefined && outer.resourceInstanceId !== inner.resourceInstanceId) return false;
  return true;
}
