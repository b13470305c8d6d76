import { ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import type { ServerExchange } from "../coap/endpoint.js";
import { status, type DmContext } from "./operations/context.js";
import { bootstrapDelete, bootstrapDiscover, bootstrapInconsistency, bootstrapRead, bootstrapWrite } from "./operations/bootstrap.js";
import { parsePath } from "./path.js";

/**
 * Requests from the bootstrap server (OMA-TS-LightweightM2M_Transport §6.1.7):
 * PUT → Bootstrap-Write, DELETE → Bootstrap-Delete, GET with link-format →
 * Bootstrap-Discover, GET → Bootstrap-Read, POST /bs → Bootstrap-Finish.
 */
export function dispatchBootstrap(exchange: ServerExchange, context: DmContext, version: string, finished: () => void): void {
  const request = exchange.request;
  if (request.method === Method.POST && request.path.length === 1 && request.path[0] === "bs") {
    const problem = bootstrapInconsistency(context.store);
    if (problem) return exchange.respond(status(ResponseCode.NotAcceptable, problem));
    exchange.respond({ code: ResponseCode.Changed });
    context.defer(finished);
    return;
  }
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
