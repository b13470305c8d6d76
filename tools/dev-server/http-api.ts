import http from "node:http";
import { URL } from "node:url";
import { CommandRefused, hasObject19 } from "./command-delivery.js";
import { routeFota } from "./fota/fota-api.js";
import { HttpError, readJson, sendJson, statusOf } from "./http-status.js";
import type { ClientRecord } from "./registry.js";
import { listenHttp } from "./server-net.js";
import { isQueueMode, parseTimeoutSeconds } from "./request-queue.js";
import { describeCommand, type LwM2mDevServer, type ServerEvent } from "./server.js";
import { routeWeb } from "./web/web-api.js";
import { expiryMs } from "./validation.js";

/**
 * HTTP/JSON API of the development server.
 *
 *   Every device-management request takes a deadline, "timeout" in seconds (query or JSON body; default
 *   --request-timeout, or --queue-timeout for a sleeping queue-mode client); a device that does not answer
 *   in time is 504. Requests for a sleeping queue-mode client wait for its next Update. A body over 64 KiB
 *   is 413.
 *
 *   GET    /clients                          registered clients ({endpoint, address, transport: "udp"|"dtls", pskIdentity?,
 *                                            queueMode, awake, waitingRequests, droppedEvents, ...})
 *   GET    /clients/EP                       one client with its object links
 *   GET    /clients/EP/read?path=/3/0[&accept=11542|senml-cbor]   formats by number or name (content-formats.ts);
 *                                            without accept, the client's format from its registration
 *   GET    /clients/EP/discover?path=/3/0
 *   POST   /clients/EP/write                 {"path":"/3/0/14","value":"+01:00"[,"format":0|"text"][,"partial":true]} or {"path","payloadHex","format"}
 *   POST   /clients/EP/execute               {"path":"/3/0/4"[,"args":"0='x'"]}
 *   POST   /clients/EP/create                {"path":"/10299"[/ID],"values":{"0":"x","5":[1,2]}[,"format"]} or {"path":"/19","payloadHex":"...","format":11542}
 *                                            (the result's "location" is the new instance)
 *   DELETE /clients/EP/instance?path=/19/3
 *   POST   /clients/EP/attributes            {"path":"/3/0/9","pmin":5,"pmax":60,"gt":null (clears)}   (400 for a bad value or name)
 *   POST   /clients/EP/observe               {"path":"/3/0/9"[,"format"]}      DELETE /clients/EP/observe?path=/3/0/9
 *   POST   /clients/EP/commands              {"text":"on"|"dataHex":"01ff","expiresInSeconds":3600,"immediate":false}
 *                                            (409 for a client registered without object 19)
 *   GET    /commands[?endpoint=EP]           DELETE /commands/ID (cancel a waiting command: 404 unknown, 409 not waiting)
 *   GET    /models, /models/ID               object models: standard and loaded (--models DIR)
 *   GET    /observations
 *   GET    /violations                       rule violations by clients: {count, violations:[{endpoint?, peer, rule, message, at}]}
 *                                            (count keeps counting; the list holds the last 200)
 *   GET    /bootstraps                       what the bootstrap role (--bootstrap-port) did: [{endpoint, peer, at, format, serverUri,
 *                                            shortServerId, steps:[{operation, path, code}], status, reason?}] (the last 100)
 *   GET    /events                           server-sent events: registrations, notifications, command statuses, bootstraps,
 *                                            firmware updates (fota-progress, fota-job, fota-result), queue-mode presence;
 *                                            each client's events rate-limited (--event-rate), "dropped" events count the rest
 *   GET    /events/recent[?limit=N]          the events kept (the last 500 passed on): {events:[{at, event}], dropped:{EP: n}}
 *   /images..., /fota, /clients/EP/fota...    firmware images and updates: fota/image-http.ts, fota/fota-api.ts
 *   GET /, /web/..., composite read/observe    the web console and its routes: web/web-api.ts
 */
export function startHttpApi(server: LwM2mDevServer, port: number, host = "127.0.0.1"): Promise<http.Server> {
  const streams = new Set<http.ServerResponse>();
  server.eventLog.on("event", (event: ServerEvent) => {
    const line = `data: ${JSON.stringify(event)}\n\n`;
    for (const stream of streams) stream.write(line);
  });
  const httpServer = http.createServer((request, response) => {
    void route(server, request, response, streams).catch((error: Error) => {
      const status = statusOf(error);
      // A refused body may still be on its way: the connection is not reused.
      sendJson(response, status, { error: error.message }, status === 413 ? { connection: "close" } : {});
    });
  });
  // A port in use rejects with a BindError that says what to do.
  return listenHttp(httpServer, port, host).then(() => {
    // http:// Package URIs point here.
    server.fota.httpPort = (httpServer.address() as { port: number }).port;
    return httpServer;
  });
}

const send = sendJson;

/** The request's own deadline, "timeout" in seconds from the query or the body; undefined for the default. */
function requestTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTimeoutSeconds(value);
  } catch (error) {
    throw new HttpError(400, (error as Error).message);
  }
}

function hexBytes(hex: unknown): Uint8Array {
  if (typeof hex !== "string" || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error("payloadHex/dataHex must be pairs of hex digits");
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function text(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") throw new Error(`"${name}" is required`);
  return value;
}

async function route(server: LwM2mDevServer, request: http.IncomingMessage, response: http.ServerResponse, streams: Set<http.ServerResponse>): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const method = request.method ?? "GET";
  const query = (name: string) => url.searchParams.get(name) ?? undefined;
  if (parts[0] === "events" && parts[1] === "recent" && parts.length === 2 && method === "GET") {
    const limit = query("limit") === undefined ? undefined : Number(query("limit"));
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new HttpError(400, `limit must be a whole number, got "${query("limit")}"`);
    return send(response, 200, { events: server.eventLog.recent(limit), dropped: server.eventLog.droppedCounts() });
  }
  if (parts[0] === "events" && parts.length === 1 && method === "GET") {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    response.write(": lwm2m dev server events\n\n");
    streams.add(response);
    request.on("close", () => streams.delete(response));
    return;
  }
  if (await routeWeb(server, request, response, parts, readJson)) return;
  if (await routeFota(server, request, response, parts, readJson)) return;
  if (parts[0] === "clients" && parts.length === 1) {
    return send(response, 200, server.registry.list().map((record) => summary(server, record)));
  }
  if (parts[0] === "commands") {
    if (parts.length === 1 && method === "GET") return send(response, 200, server.commands.list(query("endpoint")).map(describeCommand));
    if (parts.length === 2 && method === "DELETE") {
      const command = /^[0-9]+$/.test(parts[1]!) ? server.commands.get(Number(parts[1])) : undefined;
      if (!command) return send(response, 404, { error: `no command ${parts[1]}` });
      if (!server.cancelCommand(command.id)) return send(response, 409, { error: `command #${command.id} is ${command.status}: only a waiting command can be cancelled` });
      return send(response, 200, { cancelled: true });
    }
  }
  if (parts[0] === "models" && method === "GET" && parts.length <= 2) {
    // Each model with its resources: the web console names the tree with them.
    if (parts.length === 1) return send(response, 200, server.models.list().map((summary) => ({ ...summary, resources: server.models.object(summary.id)!.resources })));
    const model = /^[0-9]+$/.test(parts[1]!) ? server.models.object(Number(parts[1])) : undefined;
    return model ? send(response, 200, model) : send(response, 404, { error: `no object model ${parts[1]}` });
  }
  if (parts[0] === "observations" && method === "GET") return send(response, 200, server.listObservations());
  if (parts[0] === "violations" && parts.length === 1 && method === "GET") return send(response, 200, server.violations);
  if (parts[0] === "bootstraps" && parts.length === 1 && method === "GET") return send(response, 200, server.bootstraps);
  if (parts[0] === "clients" && parts.length >= 2) {
    const endpoint = parts[1]!;
    const action = parts[2];
    if (!server.registry.get(endpoint) && action !== "commands") return send(response, 404, { error: `no client "${endpoint}" is registered` });
    if (!action && method === "GET") {
      const record = server.registry.get(endpoint)!;
      return send(response, 200, { ...summary(server, record), links: record.links });
    }
    const body = method === "POST" ? await readJson(request) : {};
    const timeoutMs = requestTimeout(query("timeout") ?? body["timeout"]);
    if (await server.requests.withTimeout(timeoutMs, () => clientAction(server, response, endpoint, method, action, body, query))) return;
  }
  send(response, 404, { error: `no route for ${method} ${url.pathname}` });
}

/** A request under /clients/EP/ACTION; false when there is no such route. */
async function clientAction(server: LwM2mDevServer, response: http.ServerResponse, endpoint: string, method: string, action: string | undefined, body: Record<string, unknown>, query: (name: string) => string | undefined): Promise<boolean> {
  const done = (status: number, result: unknown): boolean => {
    send(response, status, result);
    return true;
  };
  const path = (query("path") ?? body["path"]) as string | undefined;
  // A number or a name: checked by the server (400 listing the names).
  const format = (body["format"] ?? query("accept")) as number | string | undefined;
  switch (`${method} ${action}`) {
    case "GET read":
      return done(200, await server.read(endpoint, text(path, "path"), format));
    case "GET discover":
      return done(200, await server.discover(endpoint, text(path, "path")));
    case "POST write":
      return done(
        200,
        body["payloadHex"] !== undefined
          ? await server.write(endpoint, text(path, "path"), undefined, { payload: hexBytes(body["payloadHex"]), format, partial: body["partial"] === true })
          : await server.write(endpoint, text(path, "path"), body["value"], { ...(format !== undefined ? { format } : {}), partial: body["partial"] === true }),
      );
    case "POST execute":
      return done(200, await server.execute(endpoint, text(path, "path"), typeof body["args"] === "string" ? body["args"] : ""));
    case "POST create": {
      const values = body["values"];
      if (values !== undefined && (!values || typeof values !== "object" || Array.isArray(values))) throw new Error('"values" must be an object of {resourceId: value}');
      const content = values !== undefined ? { format, values: values as Record<string, unknown> } : { format, payload: hexBytes(body["payloadHex"] ?? "") };
      return done(200, await server.create(endpoint, text(path, "path"), content));
    }
    case "DELETE instance":
      return done(200, await server.delete(endpoint, text(path, "path")));
    case "POST attributes": {
      // Every member but "path" is an attribute: unknown names and bad values are refused (400), never sent.
      const { path: _path, ...attributes } = body;
      return done(200, await server.writeAttributes(endpoint, text(path, "path"), attributes));
    }
    case "POST observe":
      return done(200, await server.observe(endpoint, text(path, "path"), format));
    case "DELETE observe":
      return done(server.cancelObservation(endpoint, text(path, "path")) ? 200 : 404, {});
    case "POST commands": {
      const data = body["dataHex"] !== undefined ? hexBytes(body["dataHex"]) : new TextEncoder().encode(text(body["text"], "text"));
      const expires = expiryMs(body["expiresInSeconds"]);
      try {
        const command = server.sendCommand(endpoint, data, { ...(expires !== undefined ? { expiresInMs: expires } : {}), immediate: body["immediate"] === true });
        return done(202, describeCommand(command));
      } catch (error) {
        if (error instanceof CommandRefused) return done(409, { error: error.message });
        throw error;
      }
    }
  }
  return false;
}

function summary(server: LwM2mDevServer, record: ClientRecord) {
  const presence = server.requests.presence(record.endpoint);
  return {
    endpoint: record.endpoint,
    location: `/${record.location.join("/")}`,
    address: `${record.peer.address}:${record.peer.port}`,
    // How the client registered: "dtls" (coaps://, with its PSK identity) or "udp" (coap://).
    transport: record.pskIdentity !== undefined ? "dtls" : "udp",
    ...(record.pskIdentity !== undefined ? { pskIdentity: record.pskIdentity } : {}),
    lifetime: record.lifetime,
    binding: record.binding,
    version: record.version,
    registeredAt: new Date(record.registeredAt).toISOString(),
    lastSeen: new Date(record.lastSeen).toISOString(),
    // False when the registration lists no object 19: no auto-observe of /19/0/0, no commands.
    object19: hasObject19(record.links),
    // Queue mode: whether the client listens now; requests for a sleeping one wait for its next Update.
    queueMode: isQueueMode(record),
    awake: presence?.awake ?? true,
    waitingRequests: presence?.waiting ?? 0,
    // Events of this client that flood control did not print or keep (--event-rate).
    droppedEvents: server.eventLog.droppedCounts()[record.endpoint] ?? 0,
  };
}
