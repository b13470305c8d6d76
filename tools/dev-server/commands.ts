/** Statuses of a downlink command, as the Agent Tiny seed's IoT platform reports them. */
export type CommandStatus = "waiting" | "sent" | "delivered" | "success" | "failed" | "timeout" | "expired" | "cancelled";

export const FINAL_STATUSES: readonly CommandStatus[] = Object.freeze(["success", "failed", "timeout", "expired", "cancelled"]);

export interface Command {
  readonly id: number;
  readonly endpoint: string;
  readonly data: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
  status: CommandStatus;
  /** CoAP code of the device's answer, e.g. "2.04". */
  result?: string;
  updatedAt: number;
}

export const MAX_COMMANDS = 1000;

/** Commands waiting for, or delivered to, devices; bounded, oldest finished ones dropped first. */
export class CommandQueue {
  private readonly commands = new Map<number, Command>();
  private nextId = 1;

  add(endpoint: string, data: Uint8Array, now: number, expiresInMs: number): Command {
    if (this.commands.size >= MAX_COMMANDS) {
      for (const [id, command] of this.commands) {
        if (FINAL_STATUSES.indexOf(command.status) >= 0) {
          this.commands.delete(id);
          break;
        }
      }
      if (this.commands.size >= MAX_COMMANDS) throw new RangeError(`${MAX_COMMANDS} commands are pending`);
    }
    const command: Command = { id: this.nextId++, endpoint, data, createdAt: now, expiresAt: now + expiresInMs, status: "waiting", updatedAt: now };
    this.commands.set(command.id, command);
    return command;
  }

  get(id: number): Command | undefined {
    return this.commands.get(id);
  }

  list(endpoint?: string): Command[] {
    return Array.from(this.commands.values()).filter((command) => endpoint === undefined || command.endpoint === endpoint);
  }

  waitingFor(endpoint: string): Command[] {
    return this.list(endpoint).filter((command) => command.status === "waiting");
  }
}
