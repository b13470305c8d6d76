import { ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import type { ServerExchange } from "../coap/endpoint.js";
import type { OutgoingResponse } from "../coap/response.js";
import { status, type DmContext } from "./operations/context.js";
import { bootstrapDelete, bootstrapDiscover, bootstrapRead, bootstrapWrite } from "./operations/bootstrap.js";
import { parsePath } from "./path.js";

/** The bootstrap under way, as the dispatcher sees it. */
export interface BootstrapSequence {
  /** True while a bootstrap is under way: only then may the bootstrap server change the configuration. */
  readonly open: boolean;
  /** A command from the bootstrap server arrived (the deadline for Finish runs from the last one). */
  command(): void;
  /** Bootstrap-Finish: checks and keeps the configuration; returns the answer (2.04, or 4.06 with the reason). */
  finish(): OutgoingResponse;
}

/** Outside a bootstrap, Write, Delete and Finish get 4.00, the TS's code for a request the client cannot act on. */
const CLOSED = "no bootstrap is under way";

/**
 * Requests from the bootstrap server (OMA-TS-LightweightM2M_Transport §6.1.7):
 * PUT → Bootstrap-Write, DELETE → Bootstrap-Delete, GET with link-format →
 * Bootstrap-Discover, GET → Bootstrap-Read, POST /bs → Bootstrap-Finish.
 * Discover and Read change nothing and are answered at any time.
 */
export function dispatchBootstrap(exchange: ServerExchange, context: DmContext, version: string, sequence: BootstrapSequence): void {
  const request = exchange.request;
  const changes = request.method === Method.PUT || request.method === Method.DELETE || request.method === Method.POST;
  if (changes && !sequence.open) return exchange.respond(status(ResponseCode.BadRequest, CLOSED));
  if (sequence.open) sequence.command();
  if (request.method === Method.POST && request.path.length === 1 && request.path[0] === "bs") return exchange.respond(sequence.finish());
  const path = request.path.length === 0 ? undefined : parsePath(request.path);
  if (request.path.length > 0 && !path) return exchange.respond({ code: ResponseCode.NotFound });
  switch (request.method) {
    case Method.PUT:
      if (!path) return exchange.respond({ code: ResponseCode.MethodNotAllowed });
      return exchange.respond(bootstrapWrite(context, path, request.contentFormat, request.payload));
    case Method.DELETE:
      return exchange.respond(bootstrapDelete(context, path));
    case Method.GET:
      if (request.accept === ContentFormat.LinkFormat) return exchange.respond(bootstrapDiscover(context, path, version));
      if (!path) return exchange.respond({ code: ResponseCode.MethodNotAllowed });
      return exchange.respond(bootstrapRead(context, path, request.accept));
    default:
      return exchange.respond({ code: ResponseCode.MethodNotAllowed });
  }
}
