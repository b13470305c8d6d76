import { ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import type { ServerExchange } from "../coap/endpoint.js";
import type { OutgoingResponse } from "../coap/response.js";
import type { Observations } from "./observations.js";
import { METHOD_NOT_ALLOWED, NOT_FOUND, type DmContext } from "./operations/context.js";
import { compositePaths, readComposite, writeComposite } from "./operations/composite.js";
import { create } from "./operations/create.js";
import { deleteInstance } from "./operations/delete.js";
import { discover } from "./operations/discover.js";
import { execute } from "./operations/execute.js";
import { read } from "./operations/read.js";
import { write } from "./operations/write.js";
import { streamsWrite, writeBlock } from "./operations/write-block.js";
import { writeAttributes } from "./operations/write-attributes.js";
import { checkAccess, grantOwnership, type Right } from "./operations/access.js";
import { parsePath, pathLevel, type PathLevel } from "./path.js";

/**
 * Maps a device-management request onto its operation (OMA-TS-LightweightM2M_Transport §6.4):
 * GET → Read, Discover (Accept link-format) or Observe; PUT → Write (replace)
 * or Write-Attributes (queries, no payload); POST → Create (object),
 * Write (partial update, instance) or Execute (resource); DELETE → Delete.
 */
export function dispatch(exchange: ServerExchange, context: DmContext, observations: Observations): void {
  const request = exchange.request;
  if (request.path.length === 0) return dispatchComposite(exchange, context, observations);
  const path = parsePath(request.path);
  if (!path) return exchange.respond(NOT_FOUND);
  const level = pathLevel(path);
  const right = requiredRight(request.method, request.payload.length, request.contentFormat, request.query.length, level);
  const denied = right ? checkAccess(context, path, right) : undefined;
  if (denied) return exchange.respond(denied);
  switch (request.method) {
    case Method.GET:
      if (request.accept === ContentFormat.LinkFormat) return exchange.respond(discover(context, path));
      if (request.observe === 0) return observations.start(exchange, context, path);
      return exchange.respond(read(context, path, request.accept));
    case Method.PUT:
      if (request.payload.length === 0 && request.contentFormat === undefined && request.query.length > 0) {
        const written = writeAttributes(context, path, request.query);
        if (written.code === ResponseCode.Changed) observations.attributesChanged(path);
        return exchange.respond(written);
      }
      if (level === "object") return exchange.respond(METHOD_NOT_ALLOWED);
      // An opaque resource with a writeBlock hook takes its value block by block (a firmware package), or in one call when small.
      if (request.block1 || streamsWrite(context.store, request.method, path, request.contentFormat)) return exchange.respond(writeBlock(context, path, request.block1, request.payload));
      return exchange.respond(write(context, path, request.contentFormat, request.payload, "replace"));
    case Method.POST:
      if (level === "object") {
        const created = create(context, path, request.contentFormat, request.payload);
        const location = created.locationPath;
        if (location) grantOwnership(context, path.objectId, Number(location[1]));
        return exchange.respond(created);
      }
      if (level === "instance") return exchange.respond(write(context, path, request.contentFormat, request.payload, "update"));
      if (level === "resource") return exchange.respond(execute(context, path, request.payload));
      return exchange.respond(METHOD_NOT_ALLOWED);
    case Method.DELETE:
      return exchange.respond(deleteInstance(context, path));
    default:
      return exchange.respond({ code: ResponseCode.MethodNotAllowed });
  }
}

/** The Access Control right an operation needs (Write-Attributes and Discover need Read). */
function requiredRight(method: number, payloadLength: number, contentFormat: number | undefined, queries: number, level: PathLevel): Right | undefined {
  switch (method) {
    case Method.GET:
      return "Read";
    case Method.PUT:
      return payloadLength === 0 && contentFormat === undefined && queries > 0 ? "Read" : "Write";
    case Method.POST:
      return level === "object" ? "Create" : level === "instance" ? "Write" : "Execute";
    case Method.DELETE:
      return "Delete";
    default:
      return undefined;
  }
}

/** Requests on the root path: Read-Composite and Observe-Composite (FETCH), Write-Composite (iPATCH). */
function dispatchComposite(exchange: ServerExchange, context: DmContext, observations: Observations): void {
  const request = exchange.request;
  if (request.method === Method.IPATCH) return exchange.respond(writeComposite(context, request.contentFormat, request.payload));
  if (request.method !== Method.FETCH) return exchange.respond(METHOD_NOT_ALLOWED);
  const paths = compositePaths(request.contentFormat, request.payload);
  if (!Array.isArray(paths)) return exchange.respond(paths as OutgoingResponse);
  const render = () => readComposite(context, paths, request.accept, request.contentFormat);
  if (request.observe === 0) return observations.startComposite(exchange, context, paths, render);
  exchange.respond(render());
}
