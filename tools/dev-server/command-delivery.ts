/**
 * Downlink commands to /19/1/0 (Agent Tiny's command resource): delivered
 * at once to a registered client, or kept until it registers or updates,
 * until they expire. A client whose registration lists no object 19 cannot
 * take them: commands to it are refused, waiting ones fail, with the reason.
 */
import { codeClass, codeString, ContentFormat, Method } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { toHex } from "../../modules/coap/message.js";
import type { Link } from "../../modules/lwm2m/content/link-format.js";
import { formatPath, parsePathString } from "../../modules/lwm2m/path.js";
import { CommandQueue, type Command } from "./commands.js";
import type { ClientRecord } from "./registry.js";

/** The downlink path where Agent Tiny devices take commands: /19/1/0, resource instance 0. */
export const COMMAND_PATH = Object.freeze({ objectId: 19, instanceId: 1, resourceId: 0, resourceInstanceId: 0 });

/** Commands wait this long for their device unless told otherwise. */
export const DEFAULT_COMMAND_EXPIRY_MS = 24 * 3600 * 1000;

export function describeCommand(command: Command) {
  return { id: command.id, endpoint: command.endpoint, status: command.status, result: command.result, dataHex: toHex(command.data), createdAt: command.createdAt, expiresAt: command.expiresAt };
}

export type CommandView = ReturnType<typeof describeCommand>;

/** True when a registration's object links list object 19 (</19>, </19/0>, …). */
export function hasObject19(links: readonly Link[]): boolean {
  return links.some((link) => parsePathString(link.target)?.objectId === 19);
}

/** Why a client without object 19 gets no commands. */
export function noObject19(endpoint: string): string {
  return `client ${endpoint} has no object 19 (its registration lists no </19/…>): commands to /19/1/0 cannot be delivered`;
}

/** A command refused because its registered client cannot take it (the HTTP API answers 409). */
export class CommandRefused extends Error {}

export interface CommandDeliveryContext {
  readonly endpoint: CoapEndpoint;
  readonly queue: CommandQueue;
  client(endpoint: string): ClientRecord | undefined;
  now(): number;
  changed(command: CommandView): void;
}

export class CommandDelivery {
  private readonly context: CommandDeliveryContext;

  constructor(context: CommandDeliveryContext) {
    this.context = context;
  }

  /**
   * Queues a command. `immediate` sends it now and fails it if the device is
   * not registered; otherwise it waits (status "waiting") until the device
   * registers or updates, or until it expires. Throws CommandRefused for a
   * registered client without object 19.
   */
  send(endpoint: string, data: Uint8Array, options: { expiresInMs?: number; immediate?: boolean } = {}): Command {
    const expiresInMs = options.expiresInMs ?? DEFAULT_COMMAND_EXPIRY_MS;
    if (!(expiresInMs > 0) || !Number.isFinite(expiresInMs)) throw new RangeError(`a command's expiry must be a positive time, got ${expiresInMs} ms`);
    const record = this.context.client(endpoint);
    if (record && !hasObject19(record.links)) throw new CommandRefused(noObject19(endpoint));
    const command = this.context.queue.add(endpoint, data, this.context.now(), expiresInMs);
    this.context.changed(describeCommand(command));
    if (record) this.deliver(command, record);
    else if (options.immediate) this.setStatus(command, "failed", "not registered");
    return command;
  }

  /** Cancels a waiting command; false when there is none by that id or it is no longer waiting. */
  cancel(id: number): boolean {
    const command = this.context.queue.get(id);
    if (!command || command.status !== "waiting") return false;
    this.setStatus(command, "cancelled");
    return true;
  }

  /** Sends what waits for a client that has just registered or updated. */
  deliverWaiting(record: ClientRecord): void {
    for (const command of this.context.queue.waitingFor(record.endpoint)) this.deliver(command, record);
  }

  /** Marks waiting commands past their expiry. */
  expire(): void {
    for (const command of this.context.queue.list()) {
      if (command.status === "waiting" && command.expiresAt <= this.context.now()) this.setStatus(command, "expired");
    }
  }

  private deliver(command: Command, record: ClientRecord): void {
    if (command.expiresAt <= this.context.now()) return this.setStatus(command, "expired");
    if (!hasObject19(record.links)) return this.setStatus(command, "failed", noObject19(record.endpoint));
    this.setStatus(command, "sent");
    const request = { peer: record.peer, method: Method.PUT, path: formatPath(COMMAND_PATH), contentFormat: ContentFormat.OctetStream, payload: command.data, onAcknowledged: () => this.setStatus(command, "delivered") };
    this.context.endpoint.request(request, (error, response) => {
      if (error) {
        if (error.kind === "timeout") {
          // Unreachable (asleep or gone): back to waiting until the next Update, unless it has expired.
          this.setStatus(command, command.expiresAt <= this.context.now() ? "timeout" : "waiting", error.message);
        } else this.setStatus(command, "failed", error.message);
        return;
      }
      this.setStatus(command, codeClass(response!.code) === 2 ? "success" : "failed", codeString(response!.code));
    });
  }

  private setStatus(command: Command, status: Command["status"], result?: string): void {
    command.status = status;
    if (result !== undefined) command.result = result;
    command.updatedAt = this.context.now();
    this.context.changed(describeCommand(command));
  }
}
