import type { LwM2mDevServer } from "../server.js";
import { describeUpdateResult, type FotaJobSummary, type FotaMethod, type FotaScheme } from "./events.js";

export const FOTA_USAGE = `  images                           hosted firmware images (--images DIR, PUT /images/NAME)
  fota EP IMAGE [pull|push] [coap|coaps|http] [manual]
                                   update EP with IMAGE: pull (default) writes the Package URI
                                   (coap://, coaps:// or http:// to this server; default the scheme
                                   EP registered with), push writes the package to /5/0/0 with
                                   Block1; then Update once downloaded (manual: wait for
                                   fota-update), and the outcome once EP is back
  fota EP                          the update job of EP
  fota-update EP | fota-cancel EP  Update for a manual job; cancel a job`;

function describeJob(job: FotaJobSummary): string {
  const transfer = job.method === "pull" ? `pull from ${job.uri}` : "push to /5/0/0";
  const state = job.deviceState !== undefined ? `, device state ${job.deviceState}` : "";
  const result = job.updateResult !== undefined ? `, update result ${describeUpdateResult(job.updateResult)}` : "";
  const versions = job.previousVersion !== undefined || job.version !== undefined ? `, version ${job.previousVersion ?? "?"} -> ${job.version ?? "?"}` : "";
  return `${job.endpoint} ${job.image} (${transfer}): ${job.status}${state}${result}, ${job.bytes}/${job.total} B${versions}${job.detail ? ` (${job.detail})` : ""}`;
}

/** The console's firmware-update commands; the progress and the outcome follow as events. */
export async function fotaCommand(server: LwM2mDevServer, command: string, words: readonly string[]): Promise<string> {
  const fota = server.fota;
  const [endpoint, image, ...rest] = words;
  if (command === "images") {
    const list = fota.store.list();
    return list.map((entry) => `${entry.name} ${entry.size} B etag ${entry.etag}${entry.version !== undefined ? ` version ${entry.version}` : ""}`).join("\n") || "(no image)";
  }
  if (!endpoint) return `usage:\n${FOTA_USAGE}`;
  if (command === "fota-cancel") return fota.cancel(endpoint) ? `update of ${endpoint} cancelled` : `no running update of ${endpoint}`;
  if (command === "fota-update") {
    const job = fota.job(endpoint);
    if (!job) return `no update job for ${endpoint}`;
    await job.update();
    return `Update executed on ${endpoint}`;
  }
  if (!image) {
    const job = fota.job(endpoint);
    return job ? describeJob(job.summary()) : `no update job for ${endpoint}`;
  }
  let method: FotaMethod | undefined;
  let scheme: FotaScheme | undefined;
  let autoUpdate = true;
  for (const word of rest) {
    if (word === "pull" || word === "push") method = word;
    else if (word === "coap" || word === "coaps" || word === "http") scheme = word;
    else if (word === "manual") autoUpdate = false;
    else return `unknown fota argument "${word}"\nusage:\n${FOTA_USAGE}`;
  }
  if (method === "push" && scheme !== undefined) return "push writes to /5/0/0 over the registration's own transport: give no scheme";
  const job = fota.start(endpoint, { image, ...(method ? { method } : {}), ...(scheme ? { scheme } : {}), autoUpdate });
  return `update of ${endpoint} with ${image} started: ${describeJob(job.summary())}`;
}
