import type { SocketAddress } from "../../hal/net.js";
import { fromHex, toHex } from "../../modules/at/at-text.js";
import type { ScriptedModem } from "./at-scripted-modem.js";

/** What the scripted module says to one command (modules/at/command-sets.md). */
export interface Answer {
  readonly lines: readonly string[];
  /** A data prompt follows; `after` gives the lines once `length` bytes arrived. */
  readonly prompt?: { readonly link: number; readonly length: number; readonly remote: SocketAddress | undefined; readonly after: (link: number) => string[] };
  /** Lines that come later (SIM900A CONNECT OK, CDNSGIP). */
  readonly later?: { readonly lines: readonly string[]; readonly delayMs: number };
  /** The module restarts after answering (AT+RST). */
  readonly restart?: boolean;
}

export const SCRIPTED = Object.freeze({
  espAddress: "192.168.4.2",
  espMac: "18:fe:34:12:34:56",
  simAddress: "10.64.12.7",
  bcAddress: "10.1.2.3",
  imei: "490154203237518",
  resolved: "93.184.216.34",
});

const OK: Answer = Object.freeze({ lines: Object.freeze(["OK"]) });
const ERROR: Answer = Object.freeze({ lines: Object.freeze(["ERROR"]) });

function lines(...items: string[]): Answer {
  return { lines: items };
}

function esp(modem: ScriptedModem, line: string): Answer {
  let match: RegExpExecArray | null;
  if (line === "AT" || line === "AT+CWMODE=1" || line === "AT+CIPMUX=1" || line === "AT+CIPDINFO=1") return OK;
  if (line === "AT+RST") return { lines: ["OK"], restart: true };
  if (line === "ATE0") {
    modem.echo = false;
    return OK;
  }
  if (line.startsWith("AT+CWJAP=")) {
    if (modem.wrongPassword) {
      modem.wrongPassword = false;
      return lines("+CWJAP:2", "FAIL");
    }
    return lines("WIFI CONNECTED", "WIFI GOT IP", "OK");
  }
  if (line === "AT+CIFSR") return lines(`+CIFSR:STAIP,"${SCRIPTED.espAddress}"`, `+CIFSR:STAMAC,"${SCRIPTED.espMac}"`, "OK");
  if ((match = /^AT\+CIPDOMAIN="([^"]*)"$/.exec(line))) return match[1] === "example.com" ? lines(`+CIPDOMAIN:${SCRIPTED.resolved}`, "OK") : lines("DNS Fail", "ERROR");
  if ((match = /^AT\+CIPSTART=(\d),"(UDP|TCP)","([^"]*)",(\d+)$/.exec(line))) {
    const link = Number(match[1]);
    if (modem.links.has(link)) return lines("ALREADY CONNECTED", "ERROR");
    modem.links.set(link, { protocol: match[2]!, remote: { address: match[3]!, port: Number(match[4]) }, inbox: [] });
    return lines(`${link},CONNECT`, "OK");
  }
  if ((match = /^AT\+CIPSEND=(\d),(\d+)(?:,"([^"]*)",(\d+))?$/.exec(line))) {
    const link = Number(match[1]);
    if (!modem.links.has(link)) return lines("link is not valid", "ERROR");
    const length = Number(match[2]);
    const remote = match[3] !== undefined ? { address: match[3], port: Number(match[4]) } : undefined;
    return { lines: ["OK"], prompt: { link, length, remote, after: () => [`Recv ${length} bytes`, "SEND OK"] } };
  }
  if ((match = /^AT\+CIPCLOSE=(\d)$/.exec(line))) {
    const link = Number(match[1]);
    if (!modem.links.delete(link)) return lines("UNLINK", "ERROR");
    return lines(`${link},CLOSED`, "OK");
  }
  return ERROR;
}

function sim(modem: ScriptedModem, line: string): Answer {
  let match: RegExpExecArray | null;
  if (["AT", "AT+CIPMUX=1", "AT+CIPHEAD=1", "AT+CIICR"].indexOf(line) >= 0 || line.startsWith("AT+CSTT=")) return OK;
  if (line === "ATE0") {
    modem.echo = false;
    return OK;
  }
  if (line === "AT+CPIN?") return lines("+CPIN: READY", "OK");
  if (line === "AT+CREG?") {
    if (modem.searchingPolls > 0) {
      modem.searchingPolls--;
      return lines("+CREG: 0,2", "OK");
    }
    return lines("+CREG: 0,1", "OK");
  }
  if (line === "AT+COPS?") return lines('+COPS: 0,0,"CHINA MOBILE"', "OK");
  if (line === "AT+CGATT?") return lines("+CGATT: 1", "OK");
  if (line === "AT+CIPSHUT") {
    modem.links.clear();
    return lines("SHUT OK");
  }
  if (line === "AT+CIFSR") return lines(SCRIPTED.simAddress);
  if ((match = /^AT\+CDNSGIP="([^"]*)"$/.exec(line))) {
    const found = match[1] === "example.com";
    return { lines: ["OK"], later: { lines: [found ? `+CDNSGIP: 1,"${match[1]!}","${SCRIPTED.resolved}"` : "+CDNSGIP: 0,8"], delayMs: 20 } };
  }
  if ((match = /^AT\+CIPSTART=(\d),"(UDP|TCP)","([^"]*)","(\d+)"$/.exec(line))) {
    const link = Number(match[1]);
    if (modem.links.has(link)) return { lines: ["OK"], later: { lines: [`${link}, ALREADY CONNECT`], delayMs: 5 } };
    modem.links.set(link, { protocol: match[2]!, remote: { address: match[3]!, port: Number(match[4]) }, inbox: [] });
    return { lines: ["OK"], later: { lines: [`${link}, CONNECT OK`], delayMs: 5 } };
  }
  if ((match = /^AT\+CIPSEND=(\d),(\d+)$/.exec(line))) {
    const link = Number(match[1]);
    if (!modem.links.has(link)) return ERROR;
    return { lines: [], prompt: { link, length: Number(match[2]), remote: modem.links.get(link)!.remote, after: (n) => [`${n}, SEND OK`] } };
  }
  if ((match = /^AT\+CIPCLOSE=(\d)$/.exec(line))) {
    const link = Number(match[1]);
    return modem.links.delete(link) ? lines(`${link}, CLOSE OK`) : ERROR;
  }
  return ERROR;
}

function bc95(modem: ScriptedModem, line: string): Answer {
  let match: RegExpExecArray | null;
  if (line === "AT") return OK;
  if (line === "AT+CGATT?") return lines("+CGATT:1", "OK");
  if (line === "AT+CSQ") return lines("+CSQ:20,99", "OK");
  if (line === "AT+CGPADDR") return lines(`+CGPADDR:0,${SCRIPTED.bcAddress}`, "OK");
  if (line === "AT+CGSN=1") return lines(`+CGSN:${SCRIPTED.imei}`, "OK");
  if ((match = /^AT\+NSOCR=DGRAM,17,(\d+),1$/.exec(line))) {
    const port = Number(match[1]);
    if (port === 5683) return ERROR;
    let socket = 0;
    while (modem.links.has(socket)) socket++;
    if (socket > 6) return ERROR;
    modem.links.set(socket, { protocol: "UDP", remote: { address: "0.0.0.0", port }, inbox: [] });
    return lines(String(socket), "OK");
  }
  if ((match = /^AT\+NSOST=(\d),([0-9.]+),(\d+),(\d+),([0-9A-F]*)$/.exec(line))) {
    const link = Number(match[1]);
    const data = fromHex(match[5]!);
    if (!modem.links.has(link) || !data || data.length !== Number(match[4])) return ERROR;
    modem.sent.push({ link, data, remote: { address: match[2]!, port: Number(match[3]) } });
    return lines(`${link},${data.length}`, "OK");
  }
  if ((match = /^AT\+NSORF=(\d),(\d+)$/.exec(line))) {
    const inbox = modem.links.get(Number(match[1]))?.inbox;
    const next = inbox?.shift();
    if (!inbox || !next) return OK;
    // remaining: bytes of this datagram left unread (none: it is read whole); later datagrams wait in the module.
    return lines(`${match[1]!},${next.from.address},${next.from.port},${next.data.length},${toHex(next.data)},0`, "OK");
  }
  if ((match = /^AT\+NSOCL=(\d)$/.exec(line))) return modem.links.delete(Number(match[1])) ? OK : ERROR;
  return ERROR;
}

export function answer(modem: ScriptedModem, line: string): Answer {
  return modem.kind === "esp8266" ? esp(modem, line) : modem.kind === "sim900a" ? sim(modem, line) : bc95(modem, line);
}
