import { describeUpdateResult } from "./fota/events.js";
import type { DmResult, ServerEvent } from "./server.js";

/** One line for a device-management result. */
export function show(result: DmResult): string {
  if (result.values) return `${result.code} ${result.values.map((v) => `${v.path}=${JSON.stringify(v.value)}`).join(" ")}`;
  if (result.text !== undefined) return `${result.code} ${result.text}`;
  return result.code;
}

/** One console line per server event. */
export function describeEvent(event: ServerEvent): string {
  switch (event.type) {
    case "registered":
      return `registered ${event.endpoint} at ${event.location} (lifetime ${event.lifetime} s, binding ${event.binding}, LwM2M ${event.version}${event.pskIdentity !== undefined ? `, over DTLS as "${event.pskIdentity}"` : ""}): ${event.objects.join(",")}`;
    case "updated":
      return `update from ${event.endpoint}`;
    case "deregistered":
      return `${event.endpoint} ${event.reason === "expired" ? "expired (no update within its lifetime)" : "deregistered"}`;
    case "notification":
      return `notification ${event.endpoint} ${event.path}: ${show(event.result)}`;
    case "send":
      return `send from ${event.endpoint}: ${show(event.result)}`;
    case "command":
      return `command #${event.command.id} to ${event.command.endpoint}: ${event.command.status}${event.command.result ? ` (${event.command.result})` : ""}`;
    case "bootstrap": {
      const steps = event.record.steps.map((step) => `${step.operation} ${step.path} ${step.code}`).join(", ");
      return `bootstrap of ${event.record.endpoint} ${event.record.status === "finished" ? `done: given ${event.record.serverUri} (ssid ${event.record.shortServerId})` : `failed: ${event.record.reason}`}; ${steps || "no step"}`;
    }
    case "presence":
      return `${event.endpoint} is ${event.awake ? "awake" : "sleeping"} (queue mode)${event.waiting ? `; ${event.waiting} request(s) ${event.awake ? "going out" : "wait for its next Update"}` : ""}`;
    case "dropped": {
      const names: Record<string, [string, string]> = { notification: ["notification", "notifications"], send: ["Send", "Sends"], updated: ["Update", "Updates"] };
      const kinds = Object.entries(event.byType).map(([type, count]) => `${count} ${(names[type] ?? [type, type])[count === 1 ? 0 : 1]}`).join(", ");
      return `flood control: ${kinds} from ${event.endpoint} not shown (${event.total} in all; see --event-rate)`;
    }
    case "fota-progress":
      return `fota ${event.endpoint} ${event.image} (${event.transport}): ${event.total ? Math.floor((100 * event.bytes) / event.total) : 100}% (${event.bytes}/${event.total} B)`;
    case "fota-job": {
      const job = event.job;
      const device = job.deviceState !== undefined ? `, device state ${job.deviceState}` : "";
      return `fota ${job.endpoint} ${job.image} (${job.method}${job.scheme ? ` ${job.scheme}` : ""}): ${job.status}${device}${job.detail ? `: ${job.detail}` : ""}`;
    }
    case "fota-result":
      return `fota ${event.endpoint} ${event.image}: ${event.success ? "updated" : "failed"}, Update Result ${describeUpdateResult(event.result)}${event.version !== undefined ? `, firmware version ${event.version}` : ""}${!event.success && event.detail ? ` (${event.detail})` : ""}`;
  }
}
