import { formatPath, type LwM2mPath } from "../path.js";
import type { ObjectDefinition, ResourceDefinition, ResourceValue } from "./types.js";

export type ResourceContent = ResourceValue | Map<number, ResourceValue>;

/** Application callbacks for one resource. A returned number is a CoAP code refusing the operation. */
export interface ResourceHooks {
  /** Supplies the current value at read time (sensors, clocks). */
  read?(): ResourceContent | undefined;
  /**
   * Checks a written value, without side effects; return a code (e.g. 4.00)
   * to refuse. Every value of a request is validated before any write hook
   * runs, so a refusal here leaves the whole request undone.
   */
  validate?(value: ResourceContent): number | void;
  /**
   * Accepts a written value before it is stored; return a code (e.g. 4.00) to
   * refuse. For a multiple resource it gets the resource instances this
   * request wrote. It runs once every value of the request has validated.
   */
  write?(value: ResourceContent): number | void;
  /**
   * Takes a Write of this opaque resource block by block as it arrives
   * (Block1, RFC 7959), instead of one reassembled value, so a firmware
   * package never sits whole in memory. Offset 0 starts a transfer; `more`
   * is false on the last block. Return a code to refuse (the transfer ends).
   */
  writeBlock?(offset: number, data: Uint8Array, more: boolean): number | void;
  /** Runs an Execute with its argument text; return a code to refuse. */
  execute?(args: string): number | void;
  /** Run execute() only after the 2.04 has left (Reboot, Factory Reset), so the server hears the answer. */
  readonly executeAfterResponse?: boolean;
}

export type ChangeListener = (path: LwM2mPath) => void;

/**
 * Runs the hooks of a request's writes in two passes, validate for all, then
 * write: the first refusal (a CoAP code) stops it. Nothing is stored here.
 */
export function runWriteHooks(writes: readonly { readonly instance: ObjectInstance; readonly resourceId: number; readonly content: ResourceContent }[]): number | undefined {
  for (const pass of ["validate", "write"] as const) {
    for (const { instance, resourceId, content } of writes) {
      const refused = instance.hooksOf(resourceId)?.[pass]?.(content);
      if (typeof refused === "number") return refused;
    }
  }
  return undefined;
}

/** One object instance: resource values and hooks. */
export class ObjectInstance {
  readonly objectId: number;
  readonly id: number;
  private readonly values = new Map<number, ResourceContent>();
  private readonly hooks = new Map<number, ResourceHooks>();
  private readonly changed: ChangeListener;

  constructor(objectId: number, id: number, changed: ChangeListener) {
    this.objectId = objectId;
    this.id = id;
    this.changed = changed;
  }

  /** Resource ids the instance serves: with a value, a read hook or an execute hook, ascending. */
  resourceIds(): number[] {
    const ids = new Set<number>(this.values.keys());
    for (const [id, hooks] of this.hooks) if (hooks.read || hooks.execute) ids.add(id);
    return Array.from(ids).sort((a, b) => a - b);
  }

  has(resourceId: number): boolean {
    const hooks = this.hooks.get(resourceId);
    return this.values.has(resourceId) || hooks?.read !== undefined || hooks?.execute !== undefined;
  }

  get(resourceId: number): ResourceContent | undefined {
    const hook = this.hooks.get(resourceId)?.read;
    if (hook) {
      const fresh = hook();
      if (fresh !== undefined) return fresh;
    }
    return this.values.get(resourceId);
  }

  /**
   * Stores a value; observers of it are told when it differs from the stored
   * one, unless `announce` is false (the caller notifies them itself).
   */
  set(resourceId: number, value: ResourceContent, announce = true): void {
    const previous = this.values.get(resourceId);
    this.values.set(resourceId, value);
    if (announce && !sameContent(previous, value)) this.changed({ objectId: this.objectId, instanceId: this.id, resourceId });
  }

  setInstance(resourceId: number, resourceInstanceId: number, value: ResourceValue): void {
    const current = this.values.get(resourceId);
    const map = current instanceof Map ? new Map(current) : new Map<number, ResourceValue>();
    map.set(resourceInstanceId, value);
    this.set(resourceId, map);
  }

  delete(resourceId: number): void {
    if (this.values.delete(resourceId)) this.changed({ objectId: this.objectId, instanceId: this.id, resourceId });
  }

  bind(resourceId: number, hooks: ResourceHooks): void {
    this.hooks.set(resourceId, hooks);
  }

  hooksOf(resourceId: number): ResourceHooks | undefined {
    return this.hooks.get(resourceId);
  }

  /** Tells observers that a value supplied by a read hook has changed. */
  notifyChanged(resourceId?: number): void {
    this.changed(resourceId === undefined ? { objectId: this.objectId, instanceId: this.id } : { objectId: this.objectId, instanceId: this.id, resourceId });
  }
}

function sameContent(a: ResourceContent | undefined, b: ResourceContent): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((byte, i) => byte === b[i]);
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [key, value] of a) if (!sameContent(b.get(key), value)) return false;
    return true;
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !(a instanceof Map) && !(b instanceof Map) && !(a instanceof Uint8Array) && !(b instanceof Uint8Array)) {
    return a.objectId === b.objectId && a.instanceId === b.instanceId;
  }
  return false;
}

export interface ObjectHooks {
  /** Called after a server created an instance; return a code to refuse. */
  created?(instance: ObjectInstance): number | void;
  /** Called before a server deletes an instance; return a code to refuse. */
  deleting?(instance: ObjectInstance): number | void;
}

/** An object: its definition and instances. */
export class LwM2mObject {
  readonly definition: ObjectDefinition;
  hooks: ObjectHooks = {};
  private readonly instances = new Map<number, ObjectInstance>();
  private readonly store: ObjectStore;

  constructor(definition: ObjectDefinition, store: ObjectStore) {
    this.definition = definition;
    this.store = store;
  }

  get id(): number {
    return this.definition.id;
  }

  resource(resourceId: number): ResourceDefinition | undefined {
    return this.definition.resources.find((resource) => resource.id === resourceId);
  }

  instanceIds(): number[] {
    return Array.from(this.instances.keys()).sort((a, b) => a - b);
  }

  instance(id: number): ObjectInstance | undefined {
    return this.instances.get(id);
  }

  /** Adds an instance (lowest free id when none is given). */
  createInstance(id?: number): ObjectInstance {
    const instanceId = id ?? this.freeId();
    if (this.instances.has(instanceId)) throw new RangeError(`${formatPath({ objectId: this.id, instanceId })} already exists`);
    if (!this.definition.multiple && this.instances.size > 0) throw new RangeError(`object ${this.id} is single-instance`);
    const instance = new ObjectInstance(this.id, instanceId, (path) => this.store.valueChanged(path));
    this.instances.set(instanceId, instance);
    this.store.structureChanged({ objectId: this.id, instanceId });
    return instance;
  }

  deleteInstance(id: number): boolean {
    const removed = this.instances.delete(id);
    if (removed) {
      this.store.structureChanged({ objectId: this.id, instanceId: id });
      // Observers of the object (or of a composite including it) see the instance disappear.
      this.store.valueChanged({ objectId: this.id, instanceId: id });
    }
    return removed;
  }

  freeId(): number {
    let id = 0;
    while (this.instances.has(id)) id++;
    return id;
  }
}

/** Most instances the application may own (see ObjectStore.own). */
export const MAX_OWNED_INSTANCES = 32;

interface OwnedInstance {
  readonly objectId: number;
  readonly instanceId: number;
  readonly setup: (instance: ObjectInstance) => void;
  /** The instance `setup` last ran on. */
  current: ObjectInstance;
}

/** All objects of the client: the one place object instances live. */
export class ObjectStore {
  private readonly objects = new Map<number, LwM2mObject>();
  private readonly valueListeners: ChangeListener[] = [];
  private readonly structureListeners: ChangeListener[] = [];
  private readonly owned: OwnedInstance[] = [];

  /**
   * An instance the application owns (its reports, its commands, its
   * hooks): created now if missing, and `setup` binds it. A bootstrap server
   * may delete or replace it (Bootstrap-Delete "/"); restoreOwned() then
   * brings it back and runs `setup` on the instance that is there now.
   */
  own(objectId: number, instanceId: number, setup: (instance: ObjectInstance) => void): ObjectInstance {
    const object = this.objects.get(objectId);
    if (!object) throw new RangeError(`object ${objectId} is not registered`);
    if (this.owned.some((entry) => entry.objectId === objectId && entry.instanceId === instanceId)) throw new RangeError(`${formatPath({ objectId, instanceId })} is already owned`);
    if (this.owned.length >= MAX_OWNED_INSTANCES) throw new RangeError(`at most ${MAX_OWNED_INSTANCES} owned instances`);
    const instance = object.instance(instanceId) ?? object.createInstance(instanceId);
    setup(instance);
    this.owned.push({ objectId, instanceId, setup, current: instance });
    return instance;
  }

  /** Re-creates the owned instances a bootstrap removed, and binds the ones it replaced; returns how many needed it. */
  restoreOwned(): number {
    let restored = 0;
    for (const entry of this.owned) {
      const object = this.objects.get(entry.objectId)!;
      let instance = object.instance(entry.instanceId);
      if (instance === entry.current) continue;
      if (!instance) {
        // A single-instance object may hold another id now: the bootstrap server's instance stands.
        if (!object.definition.multiple && object.instanceIds().length > 0) continue;
        instance = object.createInstance(entry.instanceId);
      }
      entry.current = instance;
      entry.setup(instance);
      restored++;
    }
    return restored;
  }

  /** Adds an object from its definition. */
  add(definition: ObjectDefinition): LwM2mObject {
    if (this.objects.has(definition.id)) throw new RangeError(`object ${definition.id} is already registered`);
    const object = new LwM2mObject(definition, this);
    this.objects.set(definition.id, object);
    this.structureChanged({ objectId: definition.id });
    return object;
  }

  get(objectId: number): LwM2mObject | undefined {
    return this.objects.get(objectId);
  }

  /** Objects in ascending id order. */
  list(): LwM2mObject[] {
    return Array.from(this.objects.values()).sort((a, b) => a.id - b.id);
  }

  onValueChanged(listener: ChangeListener): void {
    this.valueListeners.push(listener);
  }

  /** Instances added or removed: registration updates follow. */
  onStructureChanged(listener: ChangeListener): void {
    this.structureListeners.push(listener);
  }

  valueChanged(path: LwM2mPath): void {
    for (const listener of this.valueListeners) listener(path);
  }

  structureChanged(path: LwM2mPath): void {
    for (const listener of this.structureListeners) listener(path);
  }
}
