import { HalError } from "../../hal/errors.js";
import type { SocketAddress } from "../../hal/net.js";
import { command, field, poll, sequence, type AdaptorContext, type AdaptorProfile, type AtAdaptor, type Done, type LinkProtocol, type ModemInfo } from "./adaptor.js";
import type { FrameHeader } from "./at-parser.js";
import { decimal, quoted } from "./at-text.js";

const RECEIVE_HEADER = /^(\d),(\d{1,5})$/;

function parseReceive(fields: string): FrameHeader | undefined {
  const match = RECEIVE_HEADER.exec(fields);
  return match ? { link: decimal(match[1]), length: decimal(match[2]) } : undefined;
}

export const SIM900A_PROFILE: AdaptorProfile = Object.freeze({
  maxDatagramSize: 1460,
  maxLinks: 6,
  tcp: true,
  defaultBaud: 115200,
  frames: Object.freeze([Object.freeze({ prefix: "+RECEIVE,", parseHeader: parseReceive, crlfAfterColon: true, maxLength: 1460 })]),
});

const TIMEOUTS = Object.freeze({ probe: 2000, attach: 10000, shut: 10000, bringUp: 85000, connect: 30000, dns: 20000, close: 5000 });
const REGISTRATION = Object.freeze({ intervalMs: 2000, maxPolls: 60 });
const DEFAULT_APN = "CMNET";

const IPV4_LINE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const LINK_CLOSED = /^(\d), CLOSED$/;
const RESET_LINES: readonly string[] = Object.freeze(["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready"]);

/** SIM900A (SIMCom) GPRS: up to 6 UDP/TCP links over one PDP context (modules/at/command-sets.md). */
export class Sim900aAdaptor implements AtAdaptor {
  readonly profile = SIM900A_PROFILE;
  private readonly context: AdaptorContext;

  constructor(context: AdaptorContext) {
    this.context = context;
    const { channel, events } = context;
    channel.onUrc((line) => LINK_CLOSED.test(line), (line) => events.onLinkClosed(decimal(line.slice(0, 1)), "closed by the peer"));
    channel.onUrc("+PDP: DEACT", () => events.onModemLost("PDP context deactivated"));
    channel.onUrc((line) => RESET_LINES.indexOf(line) >= 0, (line) => events.onModemLost(`module restarted (${line})`));
  }

  init(callback: (error: HalError | undefined, info?: ModemInfo) => void): void {
    const { channel, settings } = this.context;
    const apn = settings.apn ?? DEFAULT_APN;
    let localAddress: string | undefined;
    sequence(
      [
        command(channel, { text: "AT", timeoutMs: TIMEOUTS.probe }),
        command(channel, { text: "ATE0" }),
        (next) =>
          channel.execute({ text: "AT+CPIN?", collect: ["+CPIN:"] }, (error, response) => {
            if (error?.final !== undefined && /^\+CME ERROR: ?10$/.test(error.final)) return next(new HalError("not-found", "no SIM card (+CME ERROR: 10)"));
            if (error) return next(error);
            const state = field(response, "+CPIN:");
            next(state === "READY" ? undefined : new HalError("io", `SIM not ready: ${state ?? "no +CPIN line"}`));
          }),
        poll(
          this.context,
          { text: "AT+CREG?", collect: ["+CREG:"] },
          (response) => {
            const status = decimal(field(response, "+CREG:")?.split(",")[1]);
            if (status === 1 || status === 5) return "done";
            return status === 3 ? new HalError("unreachable", "GSM network registration denied") : "again";
          },
          REGISTRATION.intervalMs,
          REGISTRATION.maxPolls,
          () => new HalError("unreachable", "not registered on a GSM network"),
        ),
        command(channel, { text: "AT+COPS?", collect: ["+COPS:"] }, (response) => {
          this.context.log.info(`operator: ${field(response, "+COPS:") ?? "unknown"}`);
          return undefined;
        }),
        (next) =>
          channel.execute({ text: "AT+CGATT?", collect: ["+CGATT:"] }, (error, response) => {
            if (error) return next(error);
            if (field(response, "+CGATT:") === "1") return next();
            command(channel, { text: "AT+CGATT=1", timeoutMs: TIMEOUTS.attach })(next);
          }),
        command(channel, { text: "AT+CIPSHUT", timeoutMs: TIMEOUTS.shut, final: (line) => (line === "SHUT OK" ? "ok" : undefined) }),
        command(channel, { text: "AT+CIPMUX=1" }),
        command(channel, { text: "AT+CIPHEAD=1" }),
        command(channel, {
          text: `AT+CSTT=${quoted(apn)},${quoted(settings.apnUser ?? "")},${quoted(settings.apnPassword ?? "")}`,
          logText: `AT+CSTT=${quoted(apn)},"***","***"`,
        }),
        command(channel, { text: "AT+CIICR", timeoutMs: TIMEOUTS.bringUp }),
        command(channel, { text: "AT+CIFSR", final: (line) => (IPV4_LINE.test(line) ? "ok" : undefined) }, (response) => {
          localAddress = response.final;
          return undefined;
        }),
      ],
      (error) => callback(error, error ? undefined : { localAddress, macAddress: undefined }),
    );
  }

  connect(link: number, protocol: LinkProtocol, remote: SocketAddress, callback: (error: HalError | undefined, link?: number) => void, retried = false): void {
    const type = protocol === "udp" ? '"UDP"' : '"TCP"';
    this.context.channel.execute(
      {
        text: `AT+CIPSTART=${link},${type},${quoted(remote.address)},"${remote.port}"`,
        timeoutMs: TIMEOUTS.connect,
        collect: (line) => line === "OK",
        final: (line) => {
          if (line === `${link}, CONNECT OK`) return "ok";
          return line === `${link}, CONNECT FAIL` || line === `${link}, ALREADY CONNECT` ? "error" : undefined;
        },
      },
      (error) => {
        if (!error) return callback(undefined, link);
        // The module kept this link (to whatever remote): close it and open again, once.
        if (!retried && error.final === `${link}, ALREADY CONNECT`) return this.close(link, () => this.connect(link, protocol, remote, callback, true));
        callback(error);
      },
    );
  }

  send(link: number, _protocol: LinkProtocol, data: Uint8Array, _remote: SocketAddress, callback: Done): void {
    this.context.channel.execute(
      {
        text: `AT+CIPSEND=${link},${data.length}`,
        payload: data,
        final: (line) => (line === `${link}, SEND OK` ? "ok" : line === `${link}, SEND FAIL` ? "error" : undefined),
      },
      (error) => callback(error),
    );
  }

  close(link: number, callback: Done): void {
    this.context.channel.execute(
      { text: `AT+CIPCLOSE=${link}`, timeoutMs: TIMEOUTS.close, final: (line) => (line === `${link}, CLOSE OK` ? "ok" : undefined) },
      (error) => callback(error?.failure === "error" ? undefined : error),
    );
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    this.context.channel.execute(
      {
        text: `AT+CDNSGIP=${quoted(host)}`,
        timeoutMs: TIMEOUTS.dns,
        collect: (line) => line === "OK",
        final: (line) => (line.startsWith("+CDNSGIP: 1,") ? "ok" : line.startsWith("+CDNSGIP: 0") ? "error" : undefined),
      },
      (error, response) => {
        const address = /"([^"]*)"\s*$/.exec(response.final)?.[1];
        if (error || !address) callback(new HalError("dns-failed", `SIM900A could not resolve ${host}`));
        else callback(undefined, address);
      },
    );
  }

  deinit(callback: Done): void {
    callback();
  }
}
