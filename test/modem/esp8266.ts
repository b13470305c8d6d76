import { ModemEmulator, parseArgs } from "./emulator.js";
import { lookup, openHostLink, type HostLink, type Remote } from "./links.js";
import { frameOf } from "./text.js";

export interface Esp8266Options {
  /** The access point the emulated module can see (default "test-ap"). */
  readonly ssid?: string;
  /** Its password (default "test-password"). */
  readonly password?: string;
  /** How long AT+CWJAP takes (default 300 ms). */
  readonly joinDelayMs?: number;
  /** From a reset to `ready` (default 300 ms). */
  readonly bootMs?: number;
  readonly ip?: string;
  readonly mac?: string;
}

const MAX_LINKS = 5;
const MAX_SEND = 2048;
/** A ROM banner read at 115200 instead of 74880 baud looks like this. */
const BOOT_NOISE = [0x00, 0x8c, 0x9e, 0x0c, 0x8c, 0xe2, 0x7c, 0x00, 0x1c, 0x9f, 0xe3, 0x6c, 0x8e, 0x73, 0x0c, 0x73, 0x8c, 0x8c, 0xe2, 0x6c, 0x02, 0x0c, 0x63, 0x8c, 0x9c, 0x8c, 0x60, 0x9c, 0xe2, 0x6e, 0x4e];

/** Espressif AT firmware 1.x on an ESP8266 (modules/at/command-sets.md, "ESP8266"). */
export class Esp8266Emulator extends ModemEmulator {
  readonly modem = "esp8266";
  private readonly options: Required<Esp8266Options>;
  private readonly links = new Map<number, HostLink>();
  private joined = false;
  private mux = false;
  private dinfo = false;
  private mode = 1;
  private booting = false;
  private epoch = 0;

  constructor(options: Esp8266Options = {}) {
    super(true);
    this.options = { ssid: "test-ap", password: "test-password", joinDelayMs: 300, bootMs: 300, ip: "192.168.4.2", mac: "18:fe:34:12:34:56", ...options };
  }

  /** The AP goes away: `WIFI DISCONNECT`, and every link with it. */
  loseAccessPoint(): void {
    this.note("the access point is gone");
    this.closeAll(false);
    this.joined = false;
    this.urc("WIFI DISCONNECT");
  }

  protected override busyReply(): string {
    return "busy p...";
  }

  protected resetState(): void {
    this.epoch++;
    this.closeAll(false);
    this.joined = false;
    this.mux = false;
    this.dinfo = false;
    this.booting = false;
  }

  protected startUp(): void {
    this.booting = true;
    const noise = Uint8Array.from({ length: 160 }, (_, i) => BOOT_NOISE[i % BOOT_NOISE.length]! ^ (i & 0x10));
    this.writeRaw(noise);
    this.after(this.options.bootMs, () => {
      this.booting = false;
      this.respond("ready");
    });
  }

  protected dropLinks(): void {
    this.closeAll(true);
  }

  protected execute(command: string): void | Promise<void> {
    if (this.booting) return this.note("ignored while booting");
    const eq = command.indexOf("=");
    const name = (eq < 0 ? command : command.slice(0, eq)).toUpperCase().replace(/_(CUR|DEF)(?=\??$)/, "");
    const args = eq < 0 ? [] : parseArgs(command.slice(eq + 1));
    switch (name) {
      case "AT":
      case "AT+CIPDINFO":
        if (name === "AT+CIPDINFO") this.dinfo = args[0] === "1";
        return this.final("OK");
      case "AT+RST":
        return this.restartAfterOk();
      case "ATE0":
      case "ATE1":
        this.echo = name === "ATE1";
        return this.final("OK");
      case "AT+CWMODE?":
        this.respond(`+CWMODE:${this.mode}`);
        return this.final("OK");
      case "AT+CWMODE":
        if (!["1", "2", "3"].includes(args[0] ?? "")) return this.final("ERROR");
        this.mode = Number(args[0]);
        return this.final("OK");
      case "AT+CWJAP":
        return this.join(args[0] ?? "", args[1] ?? "");
      case "AT+CWJAP?":
        this.respond(this.joined ? `+CWJAP:"${this.options.ssid}","${this.options.mac}",6,-50` : "No AP");
        return this.final("OK");
      case "AT+CWQAP":
        this.closeAll(false);
        if (this.joined) this.respond("WIFI DISCONNECT");
        this.joined = false;
        return this.final("OK");
      case "AT+CIPMUX":
        if (!["0", "1"].includes(args[0] ?? "")) return this.final("ERROR");
        this.mux = args[0] === "1";
        return this.final("OK");
      case "AT+CIFSR":
        this.respond(`+CIFSR:STAIP,"${this.joined ? this.options.ip : "0.0.0.0"}"`, `+CIFSR:STAMAC,"${this.options.mac}"`);
        return this.final("OK");
      case "AT+CIPDOMAIN":
        return this.resolve(args[0] ?? "");
      case "AT+CIPSTART":
        return this.start(args);
      case "AT+CIPSEND":
        return this.send(args);
      case "AT+CIPCLOSE": {
        const id = Number(args[0]);
        const link = this.links.get(id);
        if (!link) {
          this.respond("UNLINK");
          return this.final("ERROR");
        }
        link.close();
        this.links.delete(id);
        this.respond(`${id},CLOSED`);
        return this.final("OK");
      }
      case "AT+GMR":
        this.respond("AT version:1.2.0.0(Jul  1 2016 20:04:45)", "SDK version:1.5.4.1(39cb9a32)", "emulated (test/modem/esp8266.ts)");
        return this.final("OK");
      default:
        return this.final("ERROR");
    }
  }

  private async restartAfterOk(): Promise<void> {
    this.final("OK");
    await this.wait(20);
    this.restart();
  }

  private async join(ssid: string, password: string): Promise<void> {
    if (this.joined) {
      this.closeAll(false);
      this.joined = false;
      this.respond("WIFI DISCONNECT");
    }
    await this.wait(this.options.joinDelayMs);
    if (ssid !== this.options.ssid) {
      this.respond("+CWJAP:3");
      return this.final("FAIL");
    }
    if (password !== this.options.password) {
      this.respond("+CWJAP:2");
      return this.final("FAIL");
    }
    this.respond("WIFI CONNECTED");
    await this.wait(Math.min(100, this.options.joinDelayMs));
    this.joined = true;
    this.respond("WIFI GOT IP");
    this.final("OK");
  }

  private async resolve(host: string): Promise<void> {
    const address = this.joined ? await lookup(host) : undefined;
    if (!address) {
      this.respond("DNS Fail");
      return this.final("ERROR");
    }
    this.respond(`+CIPDOMAIN:${address}`);
    this.final("OK");
  }

  private async start(args: string[]): Promise<void> {
    if (!this.mux) return this.final("ERROR"); // only the multiple-link form is emulated
    const id = Number(args[0]);
    const kind = args[1];
    const port = Number(args[3]);
    if (!(Number.isInteger(id) && id >= 0 && id < MAX_LINKS) || (kind !== "UDP" && kind !== "TCP") || !(port > 0 && port < 65536)) return this.final("ERROR");
    if (this.links.has(id)) {
      this.respond("ALREADY CONNECTED");
      return this.final("ERROR");
    }
    if (!this.joined) return this.final("ERROR");
    const epoch = this.epoch;
    const address = await lookup(args[2] ?? "");
    if (!address) {
      this.respond("DNS Fail");
      return this.final("ERROR");
    }
    const remote: Remote = { address, port };
    let link: HostLink;
    try {
      link = await openHostLink(kind, remote, {
        data: (data, from) => this.received(id, link, data, from),
        closed: () => {
          if (!link || this.links.get(id) !== link) return;
          this.links.delete(id);
          this.urc(`${id},CLOSED`);
        },
      });
    } catch (error) {
      this.note(`link ${id} to ${address}:${port} failed: ${String(error)}`);
      if (epoch !== this.epoch) return;
      this.respond(`${id},CLOSED`);
      return this.final("ERROR");
    }
    if (epoch !== this.epoch) return link.close();
    this.links.set(id, link);
    this.respond(`${id},CONNECT`);
    this.final("OK");
  }

  private received(id: number, link: HostLink | undefined, data: Uint8Array, from: Remote): void {
    if (!link || this.links.get(id) !== link) return;
    for (let at = 0; at < data.length; at += MAX_SEND) {
      const chunk = data.subarray(at, at + MAX_SEND);
      this.urc(frameOf(this.dinfo ? `\r\n+IPD,${id},${chunk.length},${from.address},${from.port}:` : `\r\n+IPD,${id},${chunk.length}:`, chunk));
    }
  }

  private async send(args: string[]): Promise<void> {
    const id = Number(args[0]);
    const length = Number(args[1]);
    const link = this.links.get(id);
    if (!link || !(Number.isInteger(length) && length > 0 && length <= MAX_SEND)) return this.final("ERROR");
    const to = args.length >= 4 ? { address: args[2] ?? "", port: Number(args[3]) } : undefined;
    this.final("OK");
    this.writeRaw("> ");
    const data = await this.readData(length);
    this.respond(`Recv ${length} bytes`);
    const sent = this.links.get(id) === link && (await link.send(data, to));
    this.final(sent ? "SEND OK" : "SEND FAIL");
  }

  private closeAll(report: boolean): void {
    for (const [id, link] of [...this.links]) {
      link.close();
      this.links.delete(id);
      if (report) this.urc(`${id},CLOSED`);
    }
  }
}
