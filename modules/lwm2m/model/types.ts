/** Resource data types of the LwM2M data model (OMA-TS-LightweightM2M_Core, Appendix C). */
export type ResourceType = "string" | "integer" | "unsigned" | "float" | "boolean" | "opaque" | "time" | "objlnk" | "corelnk" | "none";

export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

export type ResourceValue = string | number | boolean | Uint8Array | ObjectLink;

/** R, W, RW, E, or "" (none, e.g. Security resources only the bootstrap server writes). */
export type Operations = "R" | "W" | "RW" | "E" | "";

export interface ResourceDefinition {
  readonly id: number;
  readonly name: string;
  readonly operations: Operations;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly type: ResourceType;
  /** Numeric range (inclusive) or, for strings and opaque, a length range. */
  readonly range?: readonly [number, number];
  readonly units?: string;
}

export interface ObjectDefinition {
  readonly id: number;
  readonly name: string;
  /** Object version, announced in Register when not 1.0. */
  readonly version: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly resources: readonly ResourceDefinition[];
}

export function isObjectLink(value: ResourceValue): value is ObjectLink {
  return typeof value === "object" && !(value instanceof Uint8Array);
}

export function canRead(definition: ResourceDefinition): boolean {
  return definition.operations === "R" || definition.operations === "RW";
}

export function canWrite(definition: ResourceDefinition): boolean {
  return definition.operations === "W" || definition.operations === "RW";
}

export function canExecute(definition: ResourceDefinition): boolean {
  return definition.operations === "E";
}

/** Builds a frozen object definition (one source of truth per object). */
export function defineObject(
  id: number,
  name: string,
  options: { version?: string; multiple: boolean; mandatory: boolean },
  resources: readonly (readonly [number, string, Operations, "single" | "multiple", "mandatory" | "optional", ResourceType, (readonly [number, number])?, string?])[],
): ObjectDefinition {
  return Object.freeze({
    id,
    name,
    version: options.version ?? "1.0",
    multiple: options.multiple,
    mandatory: options.mandatory,
    resources: Object.freeze(
      resources.map(([rid, rname, operations, multiplicity, mandatory, type, range, units]) =>
        Object.freeze({
          id: rid,
          name: rname,
          operations,
          multiple: multiplicity === "multiple",
          mandatory: mandatory === "mandatory",
          type,
          ...(range ? { range: Object.freeze([range[0], range[1]] as const) } : {}),
          ...(units ? { units } : {}),
        }),
      ),
    ),
  });
}
