/**
 * The development server's Device Management & Service Enablement and
 * Information Reporting operations on registered clients: block-wise
 * requests (dm-client.ts), formats by name or from the registration
 * (content-formats.ts), values by the object models (models.ts),
 * observations (observations.ts).
 */
import { ContentFormat, Method } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { utf8Encode } from "../../modules/coap/message.js";
import { formatPath, MAX_ID, parsePathString, type LwM2mPath } from "../../modules/lwm2m/path.js";
import { defaultReadFormat, multiValueFormat, parseFormat } from "./content-formats.js";
import { startDmRequest, type DmRequest, type DmResponse } from "./dm-client.js";
import { decodeResult, encodeCreateValues, encodeWriteValue, type DmResult } from "./dm-payloads.js";
import type { ObjectModels } from "./models.js";
import { ObservationTable, type WholeResponse } from "./observations.js";
import type { ClientRecord, ClientRegistry } from "./registry.js";
import type { StartRequest } from "./request-queue.js";
import { attributeQuery } from "./validation.js";

/** A format as the API takes it: a Content-Format number or a name ("senml-cbor"). */
export type FormatInput = number | string | undefined;

export interface DeviceManagementContext {
  readonly endpoint: CoapEndpoint;
  /** Runs a request in line with the client's others, with its deadline (request-queue.ts). */
  run<T>(endpoint: string, start: StartRequest<T>): Promise<T>;
  readonly registry: ClientRegistry;
  readonly models: ObjectModels;
  notification(endpoint: string, path: string, result: DmResult): void;
  warn(message: string): void;
}

export class DeviceManagement {
  readonly observations: ObservationTable;
  private readonly context: DeviceManagementContext;

  constructor(context: DeviceManagementContext) {
    this.context = context;
    this.observations = new ObservationTable(context.endpoint, {
      notification: (endpoint, path, response) => context.notification(endpoint, path, this.decode(parsePathString(path), response.code, response.contentFormat, response.payload)),
      lost: (endpoint, path, error) => context.warn(`notification ${endpoint} ${path} dropped: its remaining blocks could not be fetched (${error.message})`),
    });
  }

  /** Decodes a payload for display with the object models; `path` undefined is the root (Send). */
  decode(path: LwM2mPath | undefined, code: number, format: number | undefined, payload: Uint8Array, locationPath: readonly string[] = []): DmResult {
    return decodeResult(this.context.models.lookup, path, code, format, payload, locationPath);
  }

  async read(endpoint: string, pathText: string, accept?: FormatInput): Promise<DmResult> {
    const record = this.client(endpoint);
    const path = this.path(pathText);
    const format = parseFormat(accept, "accept") ?? defaultReadFormat(record, path);
    return this.request(record, path, { method: Method.GET, ...(format !== undefined ? { accept: format } : {}) });
  }

  async discover(endpoint: string, pathText: string): Promise<DmResult> {
    return this.request(this.client(endpoint), this.path(pathText), { method: Method.GET, accept: ContentFormat.LinkFormat });
  }

  /**
   * Writes a value typed by the object model (a string for string resources,
   * a number, a boolean, {hex} for opaque); or a raw payload with its format.
   */
  async write(endpoint: string, pathText: string, value: unknown, options: { format?: FormatInput; partial?: boolean; payload?: Uint8Array } = {}): Promise<DmResult> {
    const record = this.client(endpoint);
    const path = this.path(pathText);
    const requested = parseFormat(options.format);
    const method = options.partial ? Method.POST : Method.PUT;
    if (options.payload) return this.request(record, path, { method, contentFormat: requested ?? ContentFormat.OctetStream, payload: options.payload });
    if (path.resourceId === undefined) throw new Error("give a resource path, or a payload with its format");
    const definition = this.context.models.resource(path.objectId, path.resourceId);
    if (!definition) throw new Error(`resource ${pathText} has no object model (standard, or loaded with --models): give a payload and format`);
    const { format, payload } = encodeWriteValue(path, definition, value, requested, multiValueFormat(record.links, record.version));
    return this.request(record, path, { method, contentFormat: format, payload });
  }

  async execute(endpoint: string, pathText: string, args = ""): Promise<DmResult> {
    return this.request(this.client(endpoint), this.path(pathText), { method: Method.POST, ...(args ? { payload: utf8Encode(args) } : {}) });
  }

  /**
   * Creates an instance: from a raw payload, or from `{resourceId: value}`
   * typed by the object model. `pathText` is the object, or the object and
   * the new instance's id. The result's `location` is the new instance.
   */
  async create(endpoint: string, pathText: string, content: { format?: FormatInput; payload?: Uint8Array; values?: Record<string, unknown> }): Promise<DmResult> {
    const record = this.client(endpoint);
    const path = this.path(pathText);
    if (path.resourceId !== undefined) throw new Error(`create takes an object or an object and instance id, not ${pathText}`);
    const requested = parseFormat(content.format);
    const objectPath = { objectId: path.objectId };
    if (!content.values) return this.request(record, objectPath, { method: Method.POST, contentFormat: requested ?? ContentFormat.LwM2mTlv, payload: content.payload ?? new Uint8Array(0) });
    const model = this.context.models.object(path.objectId);
    if (!model) throw new Error(`object ${path.objectId} has no object model (standard, or loaded with --models): give payloadHex and format`);
    const format = requested ?? multiValueFormat(record.links, record.version) ?? ContentFormat.LwM2mTlv;
    const tlv = format === ContentFormat.LwM2mTlv || format === ContentFormat.LegacyLwM2mTlv;
    const instanceId = path.instanceId ?? (tlv ? undefined : freeInstance(record, path.objectId));
    const { payload } = encodeCreateValues(model, content.values, format, instanceId);
    return this.request(record, objectPath, { method: Method.POST, contentFormat: format, payload });
  }

  async delete(endpoint: string, pathText: string): Promise<DmResult> {
    return this.request(this.client(endpoint), this.path(pathText), { method: Method.DELETE });
  }

  /** Write-Attributes from `{pmin: 5, gt: null, …}`; values are checked (attributeQuery) before anything is sent. */
  async writeAttributes(endpoint: string, pathText: string, attributes: Readonly<Record<string, unknown>>): Promise<DmResult> {
    const record = this.client(endpoint);
    const path = this.path(pathText);
    return this.request(record, path, { method: Method.PUT, query: attributeQuery(attributes) });
  }

  /** Observes a path; notifications are reported to the context. Resolves with the first response, made whole. */
  async observe(endpoint: string, pathText: string, accept?: FormatInput): Promise<DmResult> {
    const record = this.client(endpoint);
    const path = this.path(pathText);
    const format = parseFormat(accept, "accept") ?? defaultReadFormat(record, path);
    // In line with the client's other requests (queue mode: sent when it is awake); at the deadline it is forgotten.
    const first = await this.context.run<WholeResponse>(endpoint, (settle) => {
      let cancelled = false;
      this.observations.observe(endpoint, record.peer, formatPath(path), format).then(
        (response) => !cancelled && settle(undefined, response),
        (error: Error) => !cancelled && settle(error),
      );
      return {
        cancel: () => {
          cancelled = true;
          this.observations.cancel(endpoint, formatPath(path), false);
        },
      };
    });
    return this.decode(path, first.code, first.contentFormat, first.payload);
  }

  /** Ends an observation: proactively (GET with Observe=1), or by forgetting it (a rebooted device has). */
  cancelObservation(endpoint: string, pathText: string, proactive = true): boolean {
    return this.observations.cancel(endpoint, formatPath(this.path(pathText)), proactive);
  }

  private client(endpoint: string): ClientRecord {
    const record = this.context.registry.get(endpoint);
    if (!record) throw new Error(`no client "${endpoint}" is registered`);
    return record;
  }

  private path(text: string): LwM2mPath {
    const path = typeof text === "string" ? parsePathString(text) : undefined;
    if (!path) throw new Error(`"${text}" is not an LwM2M path`);
    return path;
  }

  private async request(record: ClientRecord, path: LwM2mPath, request: DmRequest): Promise<DmResult> {
    const response = await this.context.run<DmResponse>(record.endpoint, (settle) => startDmRequest(this.context.endpoint, this.client(record.endpoint).peer, formatPath(path), request, settle));
    return this.decode(path, response.code, response.contentFormat, response.payload, response.locationPath);
  }
}

/** The lowest instance id of an object that the client's registration does not list. */
function freeInstance(record: ClientRecord, objectId: number): number {
  const taken = new Set<number>();
  for (const link of record.links) {
    const path = parsePathString(link.target);
    if (path?.objectId === objectId && path.instanceId !== undefined) taken.add(path.instanceId);
  }
  let id = 0;
  while (taken.has(id) && id < MAX_ID) id++;
  return id;
}
