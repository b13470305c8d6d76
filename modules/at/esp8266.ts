import { HalError } from "../../hal/errors.js";
import type { SocketAddress } from "../../hal/net.js";
import { command, field, sequence, type AdaptorContext, type AdaptorProfile, type AtAdaptor, type Done, type LinkProtocol, type ModemInfo } from "./adaptor.js";
import type { AtError } from "./at-errors.js";
import type { FrameHeader } from "./at-parser.js";
import { decimal, quoted } from "./at-text.js";

const IPD_HEADER = /^(\d),(\d{1,5})(?:,([0-9.]+),(\d{1,5}))?$/;

function parseIpd(fields: string): FrameHeader | undefined {
  const match = IPD_HEADER.exec(fields);
  if (!match) return undefined;
  const length = decimal(match[2]);
  const port = decimal(match[4]);
  return match[3] !== undefined ? { link: decimal(match[1]), length, remote: { address: match[3], port } } : { link: decimal(match[1]), length };
}

export const ESP8266_PROFILE: AdaptorProfile = Object.freeze({
  maxDatagramSize: 2048,
  maxLinks: 5,
  tcp: true,
  defaultBaud: 115200,
  frames: Object.freeze([Object.freeze({ prefix: "+IPD,", parseHeader: parseIpd, crlfAfterColon: false, maxLength: 2048 })]),
  busyPrefix: "busy ",
});

/** Why AT+CWJAP failed, by its +CWJAP:n code. */
const CWJAP_CAUSES: Readonly<Record<string, string>> = Object.freeze({
  "1": "Wi-Fi join timed out",
  "2": "wrong Wi-Fi password",
  "3": "Wi-Fi access point not found",
  "4": "Wi-Fi connection failed",
});

const TIMEOUTS = Object.freeze({ reset: 7000, join: 20000, connect: 10000, dns: 10000, close: 5000 });

const LINK_CLOSED = /^(\d),CLOSED$/;
const CIFSR_VALUE = /^"?([^"]*)"?$/;

/** ESP8266 with Espressif AT firmware 1.x: Wi-Fi station, up to 5 UDP/TCP links (modules/at/command-sets.md). */
export class Esp8266Adaptor implements AtAdaptor {
  readonly profile = ESP8266_PROFILE;
  private readonly context: AdaptorContext;

  constructor(context: AdaptorContext) {
    this.context = context;
    const { channel, events } = context;
    channel.onUrc((line) => LINK_CLOSED.test(line), (line) => events.onLinkClosed(decimal(line.slice(0, 1)), "closed by the peer"));
    channel.onUrc("WIFI DISCONNECT", () => events.onModemLost("Wi-Fi access point lost"));
    channel.onUrc((line) => line === "ready", () => events.onModemLost("module restarted"));
    channel.onUrc((line) => line === "WIFI CONNECTED" || line === "WIFI GOT IP" || /^\d,CONNECT$/.test(line), () => undefined);
  }

  init(callback: (error: HalError | undefined, info?: ModemInfo) => void): void {
    const { channel, settings } = this.context;
    if (!settings.ssid) {
      callback(new HalError("invalid-argument", "ESP8266 needs the SSID of an access point (setting ssid)"));
      return;
    }
    let info: ModemInfo = { localAddress: undefined, macAddress: undefined };
    const join = `AT+CWJAP=${quoted(settings.ssid)},${quoted(settings.password ?? "")}`;
    sequence(
      [
        command(channel, { text: "AT+RST", timeoutMs: TIMEOUTS.reset, collect: (line) => line === "OK", final: (line) => (line === "ready" ? "ok" : undefined) }),
        command(channel, { text: "ATE0" }),
        command(channel, { text: "AT+CWMODE=1" }),
        (next) =>
          channel.execute(
            {
              text: join,
              logText: `AT+CWJAP=${quoted(settings.ssid!)},"***"`,
              timeoutMs: TIMEOUTS.join,
              collect: ["+CWJAP:", "WIFI "],
              final: (line) => (line === "FAIL" ? "error" : undefined),
            },
            (error, response) => {
              if (!error) return next();
              const code = field(response, "+CWJAP:");
              const cause = code !== undefined ? CWJAP_CAUSES[code] : undefined;
              next(cause ? new HalError("unreachable", `${cause} (SSID "${settings.ssid!}")`) : error);
            },
          ),
        command(channel, { text: "AT+CIPMUX=1" }),
        command(channel, { text: "AT+CIPDINFO=1" }),
        command(channel, { text: "AT+CIFSR", collect: ["+CIFSR:"] }, (response) => {
          const ip = CIFSR_VALUE.exec(field(response, "+CIFSR:STAIP,") ?? "")?.[1];
          const mac = CIFSR_VALUE.exec(field(response, "+CIFSR:STAMAC,") ?? "")?.[1];
          info = { localAddress: ip || undefined, macAddress: mac || undefined };
          return ip ? undefined : new HalError("io", "AT+CIFSR gave no station address");
        }),
      ],
      (error) => callback(error, error ? undefined : info),
    );
  }

  connect(link: number, protocol: LinkProtocol, remote: SocketAddress, callback: (error: HalError | undefined, link?: number) => void, retried = false): void {
    const type = protocol === "udp" ? '"UDP"' : '"TCP"';
    this.context.channel.execute(
      {
        text: `AT+CIPSTART=${link},${type},${quoted(remote.address)},${remote.port}`,
        timeoutMs: TIMEOUTS.connect,
        collect: [`${link},CONNECT`, `${link},CLOSED`, "ALREADY CONNECTED"],
      },
      (error, response) => {
        if (!error) return callback(undefined, link);
        // A link the module kept (a CIPCLOSE that timed out): close it and open again, once.
        if (!retried && response.lines.indexOf("ALREADY CONNECTED") >= 0) {
          return this.close(link, () => this.connect(link, protocol, remote, callback, true));
        }
        const refused = response.lines.indexOf(`${link},CLOSED`) >= 0;
        callback(refused ? new HalError("refused", `${remote.address}:${remote.port} refused the connection`) : error);
      },
    );
  }

  send(link: number, protocol: LinkProtocol, data: Uint8Array, remote: SocketAddress, callback: Done): void {
    const to = protocol === "udp" ? `,${quoted(remote.address)},${remote.port}` : "";
    this.context.channel.execute(
      {
        text: `AT+CIPSEND=${link},${data.length}${to}`,
        payload: data,
        collect: (line) => line === "OK" || line.startsWith("Recv "),
        final: (line) => (line === "SEND OK" ? "ok" : line === "SEND FAIL" ? "error" : undefined),
      },
      (error: AtError | undefined) => callback(error),
    );
  }

  close(link: number, callback: Done): void {
    this.context.channel.execute({ text: `AT+CIPCLOSE=${link}`, timeoutMs: TIMEOUTS.close, collect: [`${link},CLOSED`, "UNLINK"] }, (error, response) => {
      // An unknown link is closed already.
      callback(error && response.lines.indexOf("UNLINK") < 0 ? error : undefined);
    });
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    this.context.channel.execute({ text: `AT+CIPDOMAIN=${quoted(host)}`, timeoutMs: TIMEOUTS.dns, collect: ["+CIPDOMAIN:", "DNS Fail"] }, (error, response) => {
      const address = field(response, "+CIPDOMAIN:");
      if (error || !address) callback(new HalError("dns-failed", `ESP8266 could not resolve ${host}`));
      else callback(undefined, address.replace(/"/g, ""));
    });
  }

  deinit(callback: Done): void {
    callback();
  }
}
