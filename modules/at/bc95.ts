import { HalError } from "../../hal/errors.js";
import type { SocketAddress } from "../../hal/net.js";
import { command, field, poll, sequence, type AdaptorContext, type AdaptorProfile, type AtAdaptor, type Done, type LinkProtocol, type ModemInfo, type Step } from "./adaptor.js";
import { decimal, fromHex, toHex } from "./at-text.js";

const NSORF_LINE = /^(\d+),([0-9.]+),(\d+),(\d+),([0-9A-Fa-f]*),(\d+)$/;
const MAX_DATAGRAM = 512;

function redact(line: string): string {
  const match = NSORF_LINE.exec(line);
  return match ? `${match[1]},${match[2]},${match[3]},${match[4]},[${match[5]!.length / 2} bytes],${match[6]}` : line;
}

export const BC95_PROFILE: AdaptorProfile = Object.freeze({
  maxDatagramSize: MAX_DATAGRAM,
  maxLinks: 7,
  tcp: false,
  defaultBaud: 9600,
  frames: Object.freeze([]),
  redact,
  // An NSORF answer: "socket,address,port,length,HEX,remaining" with twice the datagram's bytes in hex.
  maxLineLength: 2 * MAX_DATAGRAM + 64,
});

const ATTACH = Object.freeze({ intervalMs: 2000, maxPolls: 60 });
/** Local ports the adaptor binds (never 5683, the CoAP server port). */
const LOCAL_PORTS = Object.freeze({ first: 56000, count: 1000 });
/** NSORF calls per +NSONMI at most, so a chatty peer cannot hold the channel. */
const MAX_READS_PER_NOTICE = 16;

/** Quectel BC95 (Neul firmware) NB-IoT: UDP sockets with hex payloads (modules/at/command-sets.md). */
export class Bc95Adaptor implements AtAdaptor {
  readonly profile = BC95_PROFILE;
  private readonly context: AdaptorContext;
  private readonly reading = new Set<number>();
  private readonly readAgain = new Set<number>();
  private portCursor = 0;

  constructor(context: AdaptorContext) {
    this.context = context;
    const { channel, events } = context;
    channel.onUrc("+NSONMI:", (line) => this.notice(decimal(line.slice("+NSONMI:".length).split(",")[0])));
    channel.onUrc((line) => line.startsWith("REBOOT_CAUSE_") || line.startsWith("Neul"), (line) => events.onModemLost(`module restarted (${line.trim()})`));
  }

  init(callback: (error: HalError | undefined, info?: ModemInfo) => void): void {
    const { channel } = this.context;
    let localAddress: string | undefined;
    let macAddress: string | undefined;
    this.reading.clear();
    this.readAgain.clear();
    sequence(
      [
        command(channel, { text: "AT" }),
        ...this.closeStaleSockets(),
        (next) =>
          channel.execute({ text: "AT+CGATT?", collect: ["+CGATT:"] }, (error, response) => {
            if (error || field(response, "+CGATT:") === "1") return next(error);
            // Not attached: ask for it, then poll until the network lets us in.
            sequence([command(channel, { text: "AT+CGATT=1" }), this.pollAttach()], next);
          }),
        command(channel, { text: "AT+CSQ", collect: ["+CSQ:"] }, (response) => {
          this.context.log.info(`signal: +CSQ:${field(response, "+CSQ:") ?? "?"}`);
          return undefined;
        }),
        command(channel, { text: "AT+CGPADDR", collect: ["+CGPADDR:"] }, (response) => {
          localAddress = field(response, "+CGPADDR:")?.split(",")[1];
          return localAddress ? undefined : new HalError("io", "AT+CGPADDR gave no address");
        }),
        command(channel, { text: "AT+CGSN=1", collect: ["+CGSN:"] }, (response) => {
          macAddress = field(response, "+CGSN:");
          return undefined;
        }),
      ],
      (error) => callback(error, error ? undefined : { localAddress, macAddress }),
    );
  }

  connect(_link: number, protocol: LinkProtocol, _remote: SocketAddress, callback: (error: HalError | undefined, link?: number, localPort?: number) => void): void {
    if (protocol !== "udp") {
      callback(new HalError("invalid-argument", "BC95 has no TCP"));
      return;
    }
    const port = LOCAL_PORTS.first + (this.portCursor++ % LOCAL_PORTS.count);
    this.context.channel.execute({ text: `AT+NSOCR=DGRAM,17,${port},1`, collect: (line) => /^\d+$/.test(line) }, (error, response) => {
      const socket = decimal(response.lines[0]);
      if (error || !(socket >= 0)) callback(error ?? new HalError("io", "AT+NSOCR gave no socket"));
      else callback(undefined, socket, port);
    });
  }

  send(link: number, _protocol: LinkProtocol, data: Uint8Array, remote: SocketAddress, callback: Done): void {
    const head = `AT+NSOST=${link},${remote.address},${remote.port},${data.length},`;
    this.context.channel.execute(
      { text: head + toHex(data), logText: `${head}[${data.length} bytes]`, collect: (line) => /^\d+,\d+$/.test(line) },
      (error) => callback(error),
    );
  }

  close(link: number, callback: Done): void {
    this.reading.delete(link);
    this.readAgain.delete(link);
    this.context.channel.execute({ text: `AT+NSOCL=${link}` }, (error) => callback(error?.failure === "error" ? undefined : error));
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    callback(new HalError("dns-failed", `BC95 adaptor resolves numeric addresses only (asked for ${host})`));
  }

  /**
   * A module that did not restart (it fell silent and came back, or the host
   * restarted) still holds the sockets of before; with no one to close them
   * they run out and NSOCR fails for good. Close every one; ERROR means it was
   * not open.
   */
  private closeStaleSockets(): Step[] {
    const steps: Step[] = [];
    for (let socket = 0; socket < BC95_PROFILE.maxLinks; socket++) {
      steps.push((next) => this.context.channel.execute({ text: `AT+NSOCL=${socket}` }, (error) => next(error?.failure === "error" ? undefined : error)));
    }
    return steps;
  }

  private pollAttach(): Step {
    return poll(
      this.context,
      { text: "AT+CGATT?", collect: ["+CGATT:"] },
      (response) => (field(response, "+CGATT:") === "1" ? "done" : "again"),
      ATTACH.intervalMs,
      ATTACH.maxPolls,
      () => new HalError("unreachable", "not attached to an NB-IoT network"),
    );
  }

  deinit(callback: Done): void {
    this.reading.clear();
    this.readAgain.clear();
    callback();
  }

  /** +NSONMI: read the socket until the module says nothing remains. */
  private notice(socket: number): void {
    if (!(socket >= 0)) return;
    if (this.reading.has(socket)) {
      this.readAgain.add(socket);
      return;
    }
    this.reading.add(socket);
    this.read(socket, 0);
  }

  private read(socket: number, reads: number): void {
    this.context.channel.execute({ text: `AT+NSORF=${socket},${MAX_DATAGRAM}`, collect: (line) => NSORF_LINE.test(line) }, (error, response) => {
      if (!this.reading.has(socket)) return;
      let got = false;
      if (!error) {
        for (const line of response.lines) {
          const match = NSORF_LINE.exec(line)!;
          const data = fromHex(match[5]!);
          got = true;
          if (data && decimal(match[1]) === socket) this.context.events.onData(socket, data, { address: match[2]!, port: decimal(match[3]) });
        }
      }
      // Read until the module answers with nothing: an +NSONMI may be missed, and "remaining" counts one datagram only.
      const again = got || this.readAgain.delete(socket);
      if (!again) {
        this.reading.delete(socket);
      } else if (reads + 1 < MAX_READS_PER_NOTICE) {
        this.read(socket, reads + 1);
      } else {
        // Let other commands through, then go on reading.
        this.reading.delete(socket);
        this.context.schedule(0, () => this.notice(socket));
      }
    });
  }

}
