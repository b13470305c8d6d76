/**
 * The Client Registration interface of the development server: Register,
 * Update and De-register at /rd, and lifetime expiry, with the strict
 * checks. What follows a registration (observations, commands) is the
 * server's, through the hooks.
 */
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import type { ServerExchange } from "../../modules/coap/endpoint.js";
import { utf8Encode } from "../../modules/coap/message.js";
import { parseLinks } from "../../modules/lwm2m/content/link-format.js";
import { ClientRegistry, parseLifetime, parseRegisterQuery, type ClientRecord } from "./registry.js";
import { parseQuery } from "./strict/registration-rules.js";
import { StrictChecker } from "./strict/strict-checker.js";
import type { Problem } from "./strict/violations.js";

export type GoneReason = "deregister" | "expired";

export interface RegistrationHooks {
  readonly registry: ClientRegistry;
  readonly checker: StrictChecker;
  now(): number;
  pskIdentityOf(peer: { address: string; port: number }): string | undefined;
  /** A client registered; `replaced` is its earlier registration, if it had one (a reboot, or a new session). */
  registered(record: ClientRecord, replaced: ClientRecord | undefined): void;
  updated(record: ClientRecord): void;
  gone(record: ClientRecord, reason: GoneReason): void;
}

export class RegistrationInterface {
  private readonly hooks: RegistrationHooks;

  constructor(hooks: RegistrationHooks) {
    this.hooks = hooks;
  }

  /** Handles a request under /rd. */
  handle(exchange: ServerExchange): void {
    const { method, path, peer } = exchange.request;
    if (method === Method.POST && path.length === 1) return this.register(exchange);
    const record = this.hooks.registry.byLocation(path);
    if (!record) return exchange.respond({ code: ResponseCode.NotFound });
    if (method === Method.POST) return this.update(exchange, record);
    if (method === Method.DELETE) {
      this.hooks.checker.checkDeregister(exchange.request, peer, record.endpoint);
      this.hooks.registry.remove(record);
      exchange.respond({ code: ResponseCode.Deleted });
      this.hooks.gone(record, "deregister");
      return;
    }
    exchange.respond({ code: ResponseCode.MethodNotAllowed });
  }

  /** Removes the clients whose lifetime ran out without an Update. */
  expire(): void {
    for (const record of this.hooks.registry.expired(this.hooks.now())) {
      this.hooks.registry.remove(record);
      this.hooks.gone(record, "expired");
    }
  }

  /** In strict mode, answers a request that broke rules with 4.00 and the rules as diagnostic payload. */
  private refused(exchange: ServerExchange, problems: readonly Problem[]): boolean {
    if (!this.hooks.checker.refuses(problems)) return false;
    exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode(StrictChecker.diagnostic(problems)) });
    return true;
  }

  private register(exchange: ServerExchange): void {
    const { query, payload, peer, contentFormat } = exchange.request;
    const params = parseRegisterQuery(query);
    const problems = this.hooks.checker.checkRegister(exchange.request, peer, typeof params === "string" ? undefined : params.endpoint);
    if (this.refused(exchange, problems)) return;
    if (typeof params === "string") return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode(params) });
    if (contentFormat !== undefined && contentFormat !== ContentFormat.LinkFormat) return exchange.respond({ code: ResponseCode.UnsupportedContentFormat });
    const replaced = this.hooks.registry.get(params.endpoint);
    let record: ClientRecord;
    try {
      record = this.hooks.registry.register(params, peer, payload, this.hooks.now(), this.hooks.pskIdentityOf(peer));
    } catch {
      return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode("bad link-format payload") });
    }
    exchange.respond({ code: ResponseCode.Created, locationPath: record.location });
    this.hooks.registered(record, replaced);
  }

  private update(exchange: ServerExchange, record: ClientRecord): void {
    const { query, payload, peer, contentFormat } = exchange.request;
    const problems = this.hooks.checker.checkUpdate(exchange.request, peer, record.endpoint, record.version);
    if (this.refused(exchange, problems)) return;
    if (payload.length && contentFormat !== undefined && contentFormat !== ContentFormat.LinkFormat) return exchange.respond({ code: ResponseCode.UnsupportedContentFormat });
    let links = record.links;
    if (payload.length) {
      try {
        links = parseLinks(payload);
      } catch {
        return exchange.respond({ code: ResponseCode.BadRequest, payload: utf8Encode("bad link-format payload") });
      }
    }
    for (const { name, value } of parseQuery(query)) {
      const lifetime = name === "lt" ? parseLifetime(value) : undefined;
      if (lifetime !== undefined) record.lifetime = lifetime;
      if (name === "b" && value) record.binding = value;
    }
    record.links = links;
    record.peer = peer;
    record.pskIdentity = this.hooks.pskIdentityOf(peer);
    record.lastSeen = this.hooks.now();
    exchange.respond({ code: ResponseCode.Changed });
    this.hooks.updated(record);
  }
}
