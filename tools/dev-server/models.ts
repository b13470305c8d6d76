/**
 * The object models the development server decodes and encodes with: the
 * standard objects of modules/lwm2m, and object models loaded from OMA DDF
 * files (`--models DIR`), which take precedence for the same object id.
 */
import fs from "node:fs";
import path from "node:path";
import { STANDARD_OBJECTS } from "../../modules/lwm2m/objects/index.js";
import type { DefinitionLookup } from "../../modules/lwm2m/content/formats.js";
import type { ObjectDefinition, ResourceDefinition } from "../../modules/lwm2m/model/types.js";
import { parseDdf } from "./ddf.js";

/** Files a models directory may hold, and the largest one read. */
export const MAX_MODEL_FILES = 2048;
export const MAX_MODEL_FILE_BYTES = 1024 * 1024;

export interface ModelSummary {
  readonly id: number;
  readonly name: string;
  readonly version: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly source: "standard" | "loaded";
}

/**
 * Reads every *.xml file of a directory (not recursing) as DDF. Throws with
 * the directory or the file named when one cannot be read or parsed, or
 * when two files define the same object.
 */
export function loadModelDirectory(directory: string): ObjectDefinition[] {
  let names: string[];
  try {
    names = fs.readdirSync(directory).filter((name) => name.toLowerCase().endsWith(".xml")).sort();
  } catch (error) {
    throw new Error(`models directory ${directory}: ${(error as Error).message}`);
  }
  if (names.length > MAX_MODEL_FILES) throw new Error(`models directory ${directory}: ${names.length} files, at most ${MAX_MODEL_FILES}`);
  const models: ObjectDefinition[] = [];
  const origin = new Map<number, string>();
  for (const name of names) {
    const file = path.join(directory, name);
    try {
      const size = fs.statSync(file).size;
      if (size > MAX_MODEL_FILE_BYTES) throw new Error(`${size} bytes, at most ${MAX_MODEL_FILE_BYTES}`);
      for (const model of parseDdf(fs.readFileSync(file, "utf8"))) {
        const earlier = origin.get(model.id);
        if (earlier !== undefined) throw new Error(`object ${model.id} is also defined in ${earlier}`);
        origin.set(model.id, name);
        models.push(model);
      }
    } catch (error) {
      throw new Error(`model file ${file}: ${(error as Error).message}`);
    }
  }
  return models;
}

export class ObjectModels {
  private readonly standard = new Map<number, ObjectDefinition>();
  private readonly loaded = new Map<number, ObjectDefinition>();

  constructor(loaded: readonly ObjectDefinition[] = []) {
    for (const definition of STANDARD_OBJECTS) this.standard.set(definition.id, definition);
    for (const definition of loaded) this.loaded.set(definition.id, definition);
  }

  /** Object ids loaded from files that replace a standard definition. */
  get overridden(): number[] {
    return Array.from(this.loaded.keys()).filter((id) => this.standard.has(id));
  }

  get loadedCount(): number {
    return this.loaded.size;
  }

  object(objectId: number): ObjectDefinition | undefined {
    return this.loaded.get(objectId) ?? this.standard.get(objectId);
  }

  resource(objectId: number, resourceId: number): ResourceDefinition | undefined {
    return this.object(objectId)?.resources.find((definition) => definition.id === resourceId);
  }

  /** For the content decoders. */
  readonly lookup: DefinitionLookup = (objectId, resourceId) => this.resource(objectId, resourceId);

  list(): ModelSummary[] {
    const ids = new Set([...this.standard.keys(), ...this.loaded.keys()]);
    return Array.from(ids)
      .sort((a, b) => a - b)
      .map((id) => {
        const { name, version, multiple, mandatory } = this.object(id)!;
        return { id, name, version, multiple, mandatory, source: this.loaded.has(id) ? "loaded" : "standard" };
      });
  }
}
