import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ContentFormat, Method, OptionNumber } from "../../../modules/coap/constants.js";
import type { ObserveHandle } from "../../../modules/coap/endpoint.js";
import { getUintOption, utf8Encode, type CoapMessage } from "../../../modules/coap/message.js";
import { formatPath, parsePathString } from "../../../modules/lwm2m/path.js";
import { sendJson } from "../http-status.js";
import { decodeComposite } from "./composite-payload.js";
import type { LwM2mDevServer, ServerEvent } from "../server.js";

/**
 * The web console's routes of the HTTP API: the page itself and what the
 * page needs beyond the device-management routes of http-api.ts.
 *
 *   GET    /                                 the web console (web/index.html)
 *   GET    /web/NAME                         its assets (console.js, console.css, favicon.svg)
 *   POST   /clients/EP/composite             Read-Composite: {"paths":["/3/0/13","/1/0/1"][,"format":110|112|"senml-json"|"senml-cbor"]}
 *   POST   /clients/EP/composite-observe     Observe-Composite of those paths (one per endpoint and path set); notifications are
 *                                            "notification" events with "path" the paths joined by "," and "composite": true
 *   DELETE /clients/EP/composite-observe?paths=/3/0/13,/1/0/1    cancels it
 *   GET    /composite-observations           [{endpoint, paths}]
 *
 * Returns false for any other request.
 */
export async function routeWeb(
  server: LwM2mDevServer,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  parts: readonly string[],
  readJson: (request: http.IncomingMessage) => Promise<Record<string, unknown>>,
): Promise<boolean> {
  const method = request.method ?? "GET";
  if (method === "GET" || method === "HEAD") {
    if (parts.length === 0 || (parts.length === 1 && parts[0] === "index.html")) return serveAsset(response, "index.html", method);
    if (parts[0] === "web" && parts.length === 2) return serveAsset(response, parts[1]!, method);
    if (parts[0] === "composite-observations" && parts.length === 1) return sendJsonRoute(response, 200, compositeObservations(server).list());
  }
  if (parts[0] !== "clients" || parts.length !== 3 || (parts[2] !== "composite" && parts[2] !== "composite-observe")) return false;
  const endpoint = parts[1]!;
  if (!server.registry.get(endpoint)) return sendJsonRoute(response, 404, { error: `no client "${endpoint}" is registered` });
  const observations = compositeObservations(server);
  if (parts[2] === "composite-observe" && method === "DELETE") {
    const paths = checkPaths(new URL(request.url ?? "/", "http://localhost").searchParams.get("paths")?.split(","));
    return sendJsonRoute(response, observations.cancel(endpoint, paths) ? 200 : 404, {});
  }
  if (method !== "POST") return sendJsonRoute(response, 405, { error: `${method} /clients/${endpoint}/${parts[2]}: use POST${parts[2] === "composite-observe" ? " or DELETE" : ""}` });
  const body = await readJson(request);
  const paths = checkPaths(body["paths"]);
  const format = senmlFormat(body["format"]);
  if (parts[2] === "composite") return sendJsonRoute(response, 200, await readComposite(server, endpoint, paths, format));
  return sendJsonRoute(response, 200, await observations.observe(endpoint, paths, format));
}

// ------------------------------------------------------------ the page

const ASSET_TYPES: Readonly<Record<string, string>> = Object.freeze({
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
});

/**
 * Where the page's files are: tools/dev-server/web in the package (this
 * module runs from build/tools/dev-server/web), or beside this module.
 */
function assetDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "..", "..", "..", "..", "tools", "dev-server", "web"), here];
  return candidates.find((candidate) => fs.existsSync(path.join(candidate, "index.html"))) ?? candidates[0]!;
}

let assets: string | undefined;

function serveAsset(response: http.ServerResponse, name: string, method: string): true {
  const type = ASSET_TYPES[path.extname(name)];
  // Plain names only: no folders, no dot files, one of the page's kinds of file.
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name) || !type) return sendJsonRoute(response, 404, { error: `no asset "${name}"` });
  assets ??= assetDirectory();
  let content: Buffer;
  try {
    content = fs.readFileSync(path.join(assets, name));
  } catch {
    return sendJsonRoute(response, 404, { error: `no asset "${name}"` });
  }
  response.writeHead(200, { "content-type": type, "content-length": content.length, "cache-control": "no-cache" });
  response.end(method === "HEAD" ? undefined : content);
  return true;
}

function sendJsonRoute(response: http.ServerResponse, status: number, body: unknown): true {
  sendJson(response, status, body);
  return true;
}

// ------------------------------------------------------------ models

// ------------------------------------------------------------ composite operations

const SENML_NAMES: Readonly<Record<string, number>> = Object.freeze({ "senml-json": ContentFormat.SenmlJson, "senml-cbor": ContentFormat.SenmlCbor });

function senmlFormat(value: unknown): number {
  if (value === undefined || value === null || value === "") return ContentFormat.SenmlJson;
  const format = typeof value === "string" && SENML_NAMES[value.toLowerCase().replace("_", "-")] !== undefined ? SENML_NAMES[value.toLowerCase().replace("_", "-")]! : Number(value);
  if (format !== ContentFormat.SenmlJson && format !== ContentFormat.SenmlCbor) throw new Error(`composite operations use senml-json (110) or senml-cbor (112), not ${JSON.stringify(value)}`);
  return format;
}

function checkPaths(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error('"paths" must be a non-empty list of LwM2M paths');
  return value.map((text) => {
    const parsed = typeof text === "string" ? parsePathString(text) : undefined;
    if (!parsed) throw new Error(`${JSON.stringify(text)} is not an LwM2M path`);
    return formatPath(parsed);
  });
}

/** The FETCH of a composite operation: the paths as SenML JSON names, the answer in `accept`. */
function compositeRequest(paths: readonly string[], accept: number) {
  return { method: Method.FETCH, contentFormat: ContentFormat.SenmlJson, accept, payload: utf8Encode(JSON.stringify(paths.map((n) => ({ n })))) };
}

function decodeResponse(server: LwM2mDevServer, response: CoapMessage) {
  return decodeComposite(server.models.lookup, response.code, getUintOption(response, OptionNumber.ContentFormat), response.payload);
}

async function readComposite(server: LwM2mDevServer, endpoint: string, paths: readonly string[], accept: number) {
  const record = server.registry.get(endpoint)!;
  const response = await server.endpoint.requestAsync({ peer: record.peer, ...compositeRequest(paths, accept) });
  return decodeResponse(server, response);
}

/** Observe-Composite observations, per server: started, cancelled, dropped when their client goes. */
class CompositeObservations {
  private readonly handles = new Map<string, { endpoint: string; paths: string[]; handle: ObserveHandle }>();

  constructor(private readonly server: LwM2mDevServer) {
    server.on("event", (event: ServerEvent) => {
      // A client that deregistered or expired keeps no observation; one that registered again starts afresh.
      if (event.type === "deregistered" || event.type === "registered") {
        for (const [key, entry] of this.handles) {
          if (entry.endpoint === event.endpoint) {
            this.handles.delete(key);
            entry.handle.cancel(false);
          }
        }
      }
    });
  }

  list(): { endpoint: string; paths: string[] }[] {
    return Array.from(this.handles.values(), ({ endpoint, paths }) => ({ endpoint, paths }));
  }

  observe(endpoint: string, paths: string[], accept: number): Promise<unknown> {
    const record = this.server.registry.get(endpoint)!;
    const key = `${endpoint} ${paths.join(",")}`;
    this.cancel(endpoint, paths, false);
    return new Promise((resolve, reject) => {
      let first = true;
      const handle = this.server.endpoint.observe({ peer: record.peer, ...compositeRequest(paths, accept) }, (error, response) => {
        if (error) {
          if (this.handles.get(key)?.handle === handle) this.handles.delete(key);
          if (first) reject(error);
          return;
        }
        const result = decodeResponse(this.server, response!);
        if (first) {
          first = false;
          if (getUintOption(response!, OptionNumber.Observe) === undefined) this.handles.delete(key);
          resolve(result);
        } else this.server.emit("event", { type: "notification", endpoint, path: paths.join(","), composite: true, result });
      });
      this.handles.set(key, { endpoint, paths, handle });
    });
  }

  cancel(endpoint: string, paths: readonly string[], proactive = true): boolean {
    const key = `${endpoint} ${paths.join(",")}`;
    const entry = this.handles.get(key);
    if (!entry) return false;
    this.handles.delete(key);
    entry.handle.cancel(proactive);
    return true;
  }
}

const perServer = new WeakMap<LwM2mDevServer, CompositeObservations>();

function compositeObservations(server: LwM2mDevServer): CompositeObservations {
  let observations = perServer.get(server);
  if (!observations) perServer.set(server, (observations = new CompositeObservations(server)));
  return observations;
}
