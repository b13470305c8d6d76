import type http from "node:http";
import { sendJson, statusOf } from "../http-status.js";
import type { LwM2mDevServer } from "../server.js";
import type { FotaMethod, FotaScheme } from "./events.js";
import { ImageError } from "./image-store.js";
import { routeImages } from "./image-http.js";

const send = sendJson;

/**
 * The firmware-update routes of the HTTP API (the image routes are in image-http.ts):
 *
 *   GET    /fota                      every update job (the last per endpoint)
 *   POST   /clients/EP/fota           {"image":"NAME","method":"pull"|"push","scheme":"coap"|"coaps"|"http","autoUpdate":true} → 202, the job
 *   GET    /clients/EP/fota           the job: status, device state, update result, bytes/total, versions
 *   POST   /clients/EP/fota/update    executes Update for a job waiting in "downloaded" (autoUpdate false)
 *   DELETE /clients/EP/fota           cancels a running job
 *
 * Returns false for any other path.
 */
export async function routeFota(
  server: LwM2mDevServer,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  parts: readonly string[],
  readJson: (request: http.IncomingMessage) => Promise<Record<string, unknown>>,
): Promise<boolean> {
  if (await routeImages(server.fota, request, response, parts)) return true;
  const method = request.method ?? "GET";
  const fota = server.fota;
  if (parts[0] === "fota" && parts.length === 1 && method === "GET") {
    send(response, 200, fota.list());
    return true;
  }
  if (parts[0] !== "clients" || parts[2] !== "fota" || parts.length > 4) return false;
  const endpoint = parts[1]!;
  try {
    if (parts[3] === "update" && method === "POST") {
      const job = fota.job(endpoint);
      if (!job) throw new ImageError(404, `no update job for ${endpoint}`);
      await job.update().catch((error: Error) => {
        throw new ImageError(409, error.message);
      });
      send(response, 202, job.summary());
    } else if (parts.length === 4) {
      send(response, 404, { error: `no route for ${method} ${parts.join("/")}` });
    } else if (method === "POST") {
      const body = await readJson(request);
      if (typeof body["image"] !== "string" || body["image"] === "") throw new ImageError(400, '"image" is required');
      const job = fota.start(endpoint, {
        image: body["image"],
        ...(body["method"] !== undefined ? { method: body["method"] as FotaMethod } : {}),
        ...(body["scheme"] !== undefined ? { scheme: body["scheme"] as FotaScheme } : {}),
        ...(body["autoUpdate"] !== undefined ? { autoUpdate: body["autoUpdate"] !== false } : {}),
      });
      send(response, 202, job.summary());
    } else if (method === "GET") {
      const job = fota.job(endpoint);
      send(response, job ? 200 : 404, job ? job.summary() : { error: `no update job for ${endpoint}` });
    } else if (method === "DELETE") {
      send(response, fota.cancel(endpoint) ? 200 : 409, fota.job(endpoint)?.summary() ?? { error: `no update job for ${endpoint}` });
    } else send(response, 405, { error: `${method} /clients/${endpoint}/fota: use GET, POST or DELETE` });
  } catch (error) {
    send(response, error instanceof ImageError ? error.status : statusOf(error), { error: (error as Error).message });
  }
  return true;
}
