import { isIP } from "node:net";
import { ModemEmulator, parseArgs } from "./emulator.js";
import { openUdpSocket, type HostLink, type Remote } from "./links.js";

export interface Bc95Options {
  /** From start-up (or a reset) to attached (default 300 ms). */
  readonly attachDelayMs?: number;
  /** How long the attach is lost after a link drop (default 1000 ms). */
  readonly dropAttachMs?: number;
  /** CSQ's rssi while attached (default 20). */
  readonly rssi?: number;
  readonly ip?: string;
  readonly imei?: string;
  /** The host address the sockets bind to (default: every interface; 127.0.0.1 keeps them local). */
  readonly bindAddress?: string;
}

const MAX_SOCKETS = 7;
const MAX_DATAGRAM = 512;

interface Socket {
  readonly link: HostLink;
  readonly queue: { data: Uint8Array; from: Remote }[];
}

/** Quectel BC95 on Neul firmware (modules/at/command-sets.md, "BC95"): UDP sockets with hex payloads, no echo. */
export class Bc95Emulator extends ModemEmulator {
  readonly modem = "bc95";
  private readonly options: Required<Omit<Bc95Options, "bindAddress">> & { bindAddress: string | undefined };
  private readonly sockets = new Map<number, Socket>();
  private attachedAt = 0;
  private epoch = 0;

  constructor(options: Bc95Options = {}) {
    super(false);
    this.options = { attachDelayMs: 300, dropAttachMs: 1000, rssi: 20, ip: "10.1.2.3", imei: "490154203237518", bindAddress: undefined, ...options };
    this.attachedAt = this.options.attachDelayMs;
  }

  private get attached(): boolean {
    return this.uptimeMs >= this.attachedAt;
  }

  protected resetState(): void {
    this.epoch++;
    this.closeAll();
    this.attachedAt = this.uptimeMs + this.options.attachDelayMs;
  }

  protected startUp(): void {
    this.respond("REBOOT_CAUSE_APPLICATION_AT", "Neul ", "OK");
  }

  protected dropLinks(): void {
    this.closeAll();
    this.attachedAt = this.uptimeMs + this.options.dropAttachMs;
  }

  protected execute(command: string): void | Promise<void> {
    const eq = command.indexOf("=");
    const name = (eq < 0 ? command : command.slice(0, eq)).toUpperCase();
    const args = eq < 0 ? [] : parseArgs(command.slice(eq + 1));
    switch (name) {
      case "AT":
        return this.final("OK");
      case "AT+NRB":
        return this.reboot();
      case "AT+CGATT?":
        this.respond(`+CGATT:${this.attached ? 1 : 0}`);
        return this.final("OK");
      case "AT+CGATT":
        if (args[0] === "1") this.attachedAt = Math.min(this.attachedAt, this.uptimeMs + this.options.attachDelayMs);
        else if (args[0] === "0") {
          this.attachedAt = Number.POSITIVE_INFINITY;
          this.closeAll();
        } else return this.final("ERROR");
        return this.final("OK");
      case "AT+CSQ":
        this.respond(`+CSQ:${this.attached ? this.options.rssi : 99},99`);
        return this.final("OK");
      case "AT+CGPADDR":
        if (this.attached) this.respond(`+CGPADDR:0,${this.options.ip}`);
        return this.final("OK");
      case "AT+CGSN":
        if (args[0] !== "1") return this.final("ERROR");
        this.respond(`+CGSN:${this.options.imei}`);
        return this.final("OK");
      case "AT+NSOCR":
        return this.create(args);
      case "AT+NSOST":
        return this.send(args);
      case "AT+NSORF":
        return this.read(args);
      case "AT+NSOCL": {
        const id = Number(args[0]);
        const socket = this.sockets.get(id);
        if (!socket) return this.final("ERROR");
        socket.link.close();
        this.sockets.delete(id);
        return this.final("OK");
      }
      default:
        return this.final("ERROR");
    }
  }

  private async reboot(): Promise<void> {
    this.respond("REBOOTING");
    await this.wait(200);
    this.restart();
  }

  private async create(args: string[]): Promise<void> {
    const port = Number(args[2]);
    if (args[0] !== "DGRAM" || args[1] !== "17" || !(Number.isInteger(port) && port > 0 && port < 65536) || port === 5683) return this.final("ERROR");
    let id = 0;
    while (id < MAX_SOCKETS && this.sockets.has(id)) id++;
    if (id === MAX_SOCKETS) return this.final("ERROR");
    const epoch = this.epoch;
    const report = args[3] !== "0";
    // The module's own port stays on the module: the host socket takes an ephemeral one.
    const link = await openUdpSocket({
      data: (data, from) => {
        const socket = this.sockets.get(id);
        if (!socket || socket.link !== link) return;
        if (data.length > MAX_DATAGRAM) return this.note(`dropped a datagram of ${data.length} bytes (more than ${MAX_DATAGRAM})`);
        socket.queue.push({ data, from });
        if (report) this.urc(`+NSONMI:${id},${data.length}`);
      },
      closed: () => undefined,
    }, this.options.bindAddress);
    if (epoch !== this.epoch || this.sockets.has(id)) {
      link.close();
      return this.final("ERROR");
    }
    this.sockets.set(id, { link, queue: [] });
    this.respond(String(id));
    this.final("OK");
  }

  private async send(args: string[]): Promise<void> {
    const socket = this.sockets.get(Number(args[0]));
    const address = args[1] ?? "";
    const port = Number(args[2]);
    const length = Number(args[3]);
    const hex = args[4] ?? "";
    const valid = socket && isIP(address) && port > 0 && port < 65536 && Number.isInteger(length) && length > 0 && length <= MAX_DATAGRAM && hex.length === 2 * length && /^[0-9A-Fa-f]*$/.test(hex);
    if (!valid || !this.attached) return this.final("ERROR");
    const sent = await socket.link.send(Buffer.from(hex, "hex"), { address, port });
    if (!sent) return this.final("ERROR");
    this.respond(`${args[0]},${length}`);
    this.final("OK");
  }

  private read(args: string[]): void {
    const id = Number(args[0]);
    const max = Number(args[1]);
    const socket = this.sockets.get(id);
    if (!socket || !(Number.isInteger(max) && max > 0)) return this.final("ERROR");
    const head = socket.queue[0];
    if (!head) return this.final("OK");
    const taken = head.data.subarray(0, Math.min(max, head.data.length));
    const remaining = head.data.length - taken.length;
    if (remaining > 0) socket.queue[0] = { data: head.data.subarray(taken.length), from: head.from };
    else socket.queue.shift();
    this.respond(`${id},${head.from.address},${head.from.port},${taken.length},${Buffer.from(taken).toString("hex").toUpperCase()},${remaining}`);
    this.final("OK");
  }

  private closeAll(): void {
    for (const socket of this.sockets.values()) socket.link.close();
    this.sockets.clear();
  }
}
