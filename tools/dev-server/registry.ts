import type { Peer } from "../../modules/coap/message.js";
import { parseLinks, type Link } from "../../modules/lwm2m/content/link-format.js";
import { parseQuery } from "./strict/registration-rules.js";

export interface ClientRecord {
  readonly endpoint: string;
  /** Location path segments given in the Register answer, e.g. ["rd", "3"]. */
  readonly location: readonly string[];
  peer: Peer;
  lifetime: number;
  binding: string;
  /** The Q flag of an LwM2M 1.1 Register (queue mode; 1.0 clients say it in the binding, "UQ"). */
  readonly queueFlag: boolean;
  readonly version: string;
  links: Link[];
  /** The PSK identity when the client came over DTLS (coaps://); undefined over plain CoAP. */
  pskIdentity: string | undefined;
  readonly registeredAt: number;
  lastSeen: number;
}

export interface RegistrationParams {
  readonly endpoint: string;
  readonly lifetime: number;
  readonly binding: string;
  readonly version: string;
  /** The Register carried the Q flag (LwM2M 1.1 queue mode). */
  readonly queueFlag?: boolean;
}

/** A Register/Update lifetime: a positive whole number of seconds, or undefined. */
export function parseLifetime(value: string | undefined): number | undefined {
  return value !== undefined && /^[1-9][0-9]*$/.test(value) ? Number(value) : undefined;
}

/**
 * Parses Register queries (each argument split at its first "=", the first of
 * a repeated parameter kept); returns an error text for a request the server
 * must refuse with 4.00 even in lenient mode. The strict rules are in
 * strict/registration-rules.ts.
 */
export function parseRegisterQuery(query: readonly string[]): RegistrationParams | string {
  const values = new Map<string, string>();
  for (const { name, value } of parseQuery(query)) if (!values.has(name)) values.set(name, value ?? "");
  const endpoint = values.get("ep");
  if (!endpoint) return "missing ep";
  const lifetime = values.has("lt") ? parseLifetime(values.get("lt")) : 86400;
  if (lifetime === undefined) return `bad lifetime "${values.get("lt")}"`;
  return { endpoint, lifetime, binding: values.get("b") || "U", version: values.get("lwm2m") || "1.0", queueFlag: values.has("Q") };
}

/** Registered clients, by endpoint name and by location, with lifetime expiry. */
export class ClientRegistry {
  private readonly byEndpoint = new Map<string, ClientRecord>();
  private nextId = 1;

  list(): ClientRecord[] {
    return Array.from(this.byEndpoint.values());
  }

  get(endpoint: string): ClientRecord | undefined {
    return this.byEndpoint.get(endpoint);
  }

  byLocation(location: readonly string[]): ClientRecord | undefined {
    const key = location.join("/");
    return this.list().find((record) => record.location.join("/") === key);
  }

  register(params: RegistrationParams, peer: Peer, payload: Uint8Array, now: number, pskIdentity?: string): ClientRecord {
    const record: ClientRecord = {
      endpoint: params.endpoint,
      location: ["rd", String(this.nextId++)],
      peer,
      lifetime: params.lifetime,
      binding: params.binding,
      queueFlag: params.queueFlag === true,
      version: params.version,
      links: payload.length ? parseLinks(payload) : [],
      pskIdentity,
      registeredAt: now,
      lastSeen: now,
    };
    this.byEndpoint.set(params.endpoint, record);
    return record;
  }

  remove(record: ClientRecord): void {
    if (this.byEndpoint.get(record.endpoint) === record) this.byEndpoint.delete(record.endpoint);
  }

  /** Records whose lifetime ran out (no Update in time). */
  expired(now: number): ClientRecord[] {
    return this.list().filter((record) => now - record.lastSeen > record.lifetime * 1000);
  }
}
