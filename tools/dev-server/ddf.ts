/**
 * Object definitions from OMA LwM2M registry object model files (DDF XML:
 * `<LWM2M><Object><ObjectID>…<Resources><Item ID=…>`), in the form the
 * content codecs use (ObjectDefinition). Descriptions are not kept.
 */
import { MAX_ID } from "../../modules/lwm2m/path.js";
import type { ObjectDefinition, Operations, ResourceDefinition, ResourceType } from "../../modules/lwm2m/model/types.js";
import { child, childText, parseXml, type XmlElement } from "./xml.js";

/** DDF <Type> values (compared without case and spaces) and the resource types they map to. */
const TYPES: Readonly<Record<string, ResourceType>> = Object.freeze({
  string: "string",
  integer: "integer",
  unsignedinteger: "unsigned",
  float: "float",
  boolean: "boolean",
  opaque: "opaque",
  time: "time",
  objlnk: "objlnk",
  corelnk: "corelnk",
  "": "none",
});

const OPERATIONS: readonly string[] = Object.freeze(["R", "W", "RW", "E", ""]);
const NUMERIC: readonly ResourceType[] = Object.freeze(["integer", "unsigned", "float", "time"]);

export class DdfError extends Error {}

function id(text: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > MAX_ID) throw new DdfError(`${what} "${text}" is not an id (0..${MAX_ID})`);
  return Number(text);
}

function multiplicity(text: string, what: string): boolean {
  const value = text.toLowerCase();
  if (value !== "single" && value !== "multiple") throw new DdfError(`${what}: MultipleInstances "${text}" is neither Single nor Multiple`);
  return value === "multiple";
}

function mandatory(text: string, what: string): boolean {
  const value = text.toLowerCase();
  if (value !== "mandatory" && value !== "optional") throw new DdfError(`${what}: Mandatory "${text}" is neither Mandatory nor Optional`);
  return value === "mandatory";
}

/** A numeric range "a..b" or "a-b" (inclusive) of a numeric resource; other RangeEnumeration texts (lists, lengths) are not checked. */
function range(text: string, type: ResourceType): readonly [number, number] | undefined {
  if (NUMERIC.indexOf(type) < 0) return undefined;
  const match = /^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(?:\.\.|-)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$/.exec(text);
  if (!match) return undefined;
  const low = Number(match[1]);
  const high = Number(match[2]);
  return low <= high ? Object.freeze([low, high] as const) : undefined;
}

function resource(item: XmlElement, objectName: string): ResourceDefinition {
  const rid = id(item.attributes["ID"] ?? "", `${objectName}: resource ID`);
  const what = `${objectName} resource ${rid}`;
  const name = childText(item, "Name");
  if (!name) throw new DdfError(`${what} has no Name`);
  const typeText = childText(item, "Type");
  const type = TYPES[typeText.toLowerCase().replace(/\s+/g, "")];
  if (!type) throw new DdfError(`${what}: unknown Type "${typeText}" (known: String, Integer, Unsigned Integer, Float, Boolean, Opaque, Time, Objlnk, Corelnk, or empty)`);
  const operations = childText(item, "Operations").toUpperCase();
  if (OPERATIONS.indexOf(operations) < 0) throw new DdfError(`${what}: unknown Operations "${operations}" (R, W, RW, E or empty)`);
  const limits = range(childText(item, "RangeEnumeration"), type);
  const units = childText(item, "Units");
  return Object.freeze({
    id: rid,
    name,
    operations: operations as Operations,
    multiple: multiplicity(childText(item, "MultipleInstances") || "Single", what),
    mandatory: mandatory(childText(item, "Mandatory") || "Optional", what),
    type,
    ...(limits ? { range: limits } : {}),
    ...(units ? { units } : {}),
  });
}

function object(element: XmlElement): ObjectDefinition {
  const name = childText(element, "Name");
  const objectIdText = childText(element, "ObjectID");
  if (!objectIdText) throw new DdfError(`object "${name || "(no Name)"}" has no ObjectID`);
  const objectId = id(objectIdText, "ObjectID");
  const label = `object ${objectId} (${name || "no Name"})`;
  const version = childText(element, "ObjectVersion") || "1.0";
  if (!/^[0-9]+\.[0-9]+$/.test(version)) throw new DdfError(`${label}: ObjectVersion "${version}" is not MAJOR.MINOR`);
  const resources: ResourceDefinition[] = [];
  for (const item of child(element, "Resources")?.children ?? []) {
    if (item.name !== "Item") continue;
    const definition = resource(item, label);
    if (resources.some((other) => other.id === definition.id)) throw new DdfError(`${label}: resource ${definition.id} is defined twice`);
    resources.push(definition);
  }
  return Object.freeze({
    id: objectId,
    name: name || `Object ${objectId}`,
    version,
    multiple: multiplicity(childText(element, "MultipleInstances") || "Multiple", label),
    mandatory: mandatory(childText(element, "Mandatory") || "Optional", label),
    resources: Object.freeze(resources.sort((a, b) => a.id - b.id)),
  });
}

/** The objects of one DDF file (usually one). Throws XmlError or DdfError saying what is wrong and where. */
export function parseDdf(text: string): ObjectDefinition[] {
  const root = parseXml(text);
  if (root.name !== "LWM2M") throw new DdfError(`the root element is <${root.name}>, not <LWM2M>`);
  const objects = root.children.filter((element) => element.name === "Object").map(object);
  if (objects.length === 0) throw new DdfError("no <Object> in <LWM2M>");
  return objects;
}
