import { ModemEmulator, parseArgs } from "./emulator.js";
import { frameOf } from "./text.js";
import { lookup, openHostLink, type HostLink } from "./links.js";

export interface Sim900aOptions {
  /** The APN the network accepts in AT+CSTT; undefined: any. */
  readonly apn?: string;
  /** From start-up (or a reset) to CREG registered (default 200 ms). */
  readonly registerDelayMs?: number;
  /** From registration to GPRS attached (default 100 ms). */
  readonly attachDelayMs?: number;
  /** How long AT+CIICR takes (default 200 ms). */
  readonly bringUpDelayMs?: number;
  /** false: AT+CPIN? answers +CME ERROR: 10 (default true). */
  readonly simPresent?: boolean;
  readonly ip?: string;
  readonly operator?: string;
}

const MAX_LINKS = 6;
const MAX_SEND = 1460;

/** The IP stack's states as AT+CIPSTATUS names them (multi-IP: IP INITIAL, IP START, IP GPRSACT, IP STATUS, PDP DEACT). */
type IpState = "INITIAL" | "START" | "GPRSACT" | "STATUS" | "PDPDEACT";

/** SIMCom SIM900A, TCP/IP application commands (modules/at/command-sets.md, "SIM900A"). */
export class Sim900aEmulator extends ModemEmulator {
  readonly modem = "sim900a";
  private readonly options: Required<Omit<Sim900aOptions, "apn">> & { apn: string | undefined };
  private readonly links = new Map<number, HostLink>();
  private ipState: IpState = "INITIAL";
  private apn = "";
  private registeredAt = 0;
  private attachedAt = 0;
  private detached = false;
  private epoch = 0;

  constructor(options: Sim900aOptions = {}) {
    super(true);
    this.options = { apn: undefined, registerDelayMs: 200, attachDelayMs: 100, bringUpDelayMs: 200, simPresent: true, ip: "10.64.12.7", operator: "CHINA MOBILE", ...options };
    this.schedule();
  }

  private get registered(): boolean {
    return this.options.simPresent && this.uptimeMs >= this.registeredAt;
  }
  private get attached(): boolean {
    return this.registered && !this.detached && this.uptimeMs >= this.attachedAt;
  }

  private schedule(): void {
    this.registeredAt = this.uptimeMs + this.options.registerDelayMs;
    this.attachedAt = this.registeredAt + this.options.attachDelayMs;
    this.detached = false;
  }

  protected resetState(): void {
    this.epoch++;
    this.closeAll(false);
    this.ipState = "INITIAL";
    this.schedule();
  }

  protected startUp(): void {
    this.respond("RDY");
    this.after(100, () => this.respond("+CFUN: 1", "+CPIN: READY"));
    this.after(300, () => this.respond("Call Ready"));
  }

  protected dropLinks(): void {
    this.closeAll(false);
    this.ipState = "PDPDEACT";
    this.urc("+PDP: DEACT");
  }

  protected execute(command: string): void | Promise<void> {
    const eq = command.indexOf("=");
    const name = (eq < 0 ? command : command.slice(0, eq)).toUpperCase();
    const args = eq < 0 ? [] : parseArgs(command.slice(eq + 1));
    switch (name) {
      case "AT":
      case "AT+CIPHEAD":
      case "AT+CREG":
        return this.final("OK");
      case "ATE0":
      case "ATE1":
        this.echo = name === "ATE1";
        return this.final("OK");
      case "AT+CPIN?":
        if (!this.options.simPresent) return this.final("+CME ERROR: 10");
        this.respond("+CPIN: READY");
        return this.final("OK");
      case "AT+CREG?":
        this.respond(`+CREG: 0,${this.registered ? 1 : this.options.simPresent ? 2 : 0}`);
        return this.final("OK");
      case "AT+COPS?":
        this.respond(this.registered ? `+COPS: 0,0,"${this.options.operator}"` : "+COPS: 0");
        return this.final("OK");
      case "AT+CGATT?":
        this.respond(`+CGATT: ${this.attached ? 1 : 0}`);
        return this.final("OK");
      case "AT+CGATT":
        return this.gprsAttach(args[0] === "1");
      case "AT+CIPSHUT":
        this.closeAll(false);
        this.ipState = "INITIAL";
        return this.final("SHUT OK");
      case "AT+CIPMUX":
        // The module takes CIPMUX only in IP INITIAL (after start-up or CIPSHUT).
        return this.final(this.ipState === "INITIAL" && ["0", "1"].includes(args[0] ?? "") ? "OK" : "ERROR");
      case "AT+CSTT":
        if (this.ipState !== "INITIAL" || !args[0]) return this.final("ERROR");
        this.apn = args[0];
        this.ipState = "START";
        return this.final("OK");
      case "AT+CIICR":
        return this.bringUp();
      case "AT+CIFSR":
        if (this.ipState !== "GPRSACT" && this.ipState !== "STATUS") return this.final("ERROR");
        this.ipState = "STATUS";
        return this.respond(this.options.ip);
      case "AT+CDNSGIP":
        return this.resolve(args[0] ?? "");
      case "AT+CIPSTART":
        return this.start(args);
      case "AT+CIPSEND":
        return this.send(args);
      case "AT+CIPCLOSE": {
        const id = Number(args[0]);
        const link = this.links.get(id);
        if (!link) return this.final("ERROR");
        link.close();
        this.links.delete(id);
        return this.final(`${id}, CLOSE OK`);
      }
      default:
        return this.final("ERROR");
    }
  }

  private async gprsAttach(on: boolean): Promise<void> {
    if (!on) {
      this.detached = true;
      this.closeAll(false);
      if (this.ipState === "GPRSACT" || this.ipState === "STATUS") this.ipState = "PDPDEACT";
      return this.final("OK");
    }
    if (!this.registered) return this.final("ERROR");
    this.detached = false;
    this.attachedAt = Math.min(this.attachedAt, this.uptimeMs + this.options.attachDelayMs);
    await this.wait(Math.max(0, this.attachedAt - this.uptimeMs));
    this.final("OK");
  }

  private async bringUp(): Promise<void> {
    if (this.ipState !== "START") return this.final("ERROR");
    await this.wait(this.options.bringUpDelayMs);
    if (!this.attached || (this.options.apn !== undefined && this.apn !== this.options.apn)) {
      this.note(this.attached ? `APN "${this.apn}" refused (expected "${this.options.apn}")` : "not attached");
      this.ipState = "PDPDEACT";
      return this.final("ERROR");
    }
    this.ipState = "GPRSACT";
    this.final("OK");
  }

  private async resolve(host: string): Promise<void> {
    if ((this.ipState !== "GPRSACT" && this.ipState !== "STATUS") || !host) return this.final("ERROR");
    this.final("OK");
    const epoch = this.epoch;
    const address = await lookup(host);
    if (epoch !== this.epoch) return;
    this.urc(address ? `+CDNSGIP: 1,"${host}","${address}"` : "+CDNSGIP: 0,8");
  }

  private start(args: string[]): void {
    const id = Number(args[0]);
    const kind = args[1];
    const port = Number(args[3]);
    if (!(Number.isInteger(id) && id >= 0 && id < MAX_LINKS) || (kind !== "UDP" && kind !== "TCP") || !(port > 0 && port < 65536)) return this.final("ERROR");
    // Multi-IP: links open in IP STATUS only, that is after CSTT, CIICR and CIFSR.
    if (this.ipState !== "STATUS") return this.final("ERROR");
    this.final("OK");
    if (this.links.has(id)) return this.urc(`${id}, ALREADY CONNECT`);
    const epoch = this.epoch;
    void (async () => {
      const address = await lookup(args[2] ?? "");
      let link: HostLink | undefined;
      try {
        if (address)
          link = await openHostLink(kind, { address, port }, {
            data: (data) => {
              if (link && this.links.get(id) === link) this.received(id, data);
            },
            closed: () => {
              if (!link || this.links.get(id) !== link) return;
              this.links.delete(id);
              this.urc(`${id}, CLOSED`);
            },
          });
      } catch (error) {
        this.note(`link ${id} failed: ${String(error)}`);
      }
      if (epoch !== this.epoch || this.ipState !== "STATUS" || this.links.has(id)) return link?.close();
      if (!link) return this.urc(`${id}, CONNECT FAIL`);
      this.links.set(id, link);
      this.urc(`${id}, CONNECT OK`);
    })();
  }

  private received(id: number, data: Uint8Array): void {
    for (let at = 0; at < data.length; at += MAX_SEND) {
      const chunk = data.subarray(at, at + MAX_SEND);
      this.urc(frameOf(`\r\n+RECEIVE,${id},${chunk.length}:\r\n`, chunk));
    }
  }

  private async send(args: string[]): Promise<void> {
    const id = Number(args[0]);
    const length = Number(args[1]);
    const link = this.links.get(id);
    if (!link || !(Number.isInteger(length) && length > 0 && length <= MAX_SEND)) return this.final("ERROR");
    // The prompt as SIMCom modules send it: CR LF "> ", no line end after it.
    this.writeRaw("\r\n> ");
    const data = await this.readData(length);
    const sent = this.links.get(id) === link && (await link.send(data));
    this.final(`${id}, ${sent ? "SEND OK" : "SEND FAIL"}`);
  }

  private closeAll(report: boolean): void {
    for (const [id, link] of [...this.links]) {
      link.close();
      this.links.delete(id);
      if (report) this.urc(`${id}, CLOSED`);
    }
  }
}
