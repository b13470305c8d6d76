import type { HalError } from "../../hal/errors.js";
import type { Logger } from "../../hal/log.js";
import type { SocketAddress } from "../../hal/net.js";
import type { Time } from "../../hal/time.js";
import type { AtChannel, AtCommand, AtResponse } from "./at-channel.js";
import type { AtError } from "./at-errors.js";
import type { FrameRecognizer } from "./at-parser.js";
import type { ModemSettings } from "./modem-settings.js";

export type LinkProtocol = "udp" | "tcp";

export interface ModemInfo {
  readonly localAddress: string | undefined;
  readonly macAddress: string | undefined;
}

/** What an adaptor reports to the layer above (ModemNet). */
export interface AdaptorEvents {
  /** Data arrived on a link; `remote` when the module says who sent it. */
  onData(link: number, data: Uint8Array, remote: SocketAddress | undefined): void;
  /** One link is gone (peer closed, TCP reset). */
  onLinkClosed(link: number, reason: string): void;
  /** The module restarted or lost every link (AP gone, PDP deactivated): it needs init again. */
  onModemLost(reason: string): void;
}

export interface AdaptorContext {
  readonly channel: AtChannel;
  readonly time: Time;
  readonly log: Logger;
  readonly settings: ModemSettings;
  readonly events: AdaptorEvents;
  /** A timer the owner cancels on stop and on re-initialisation. */
  schedule(delayMs: number, callback: () => void): void;
}

/** What the channel must know of a module before the adaptor exists. */
export interface AdaptorProfile {
  readonly maxDatagramSize: number;
  /** Link ids 0 … maxLinks-1. */
  readonly maxLinks: number;
  readonly tcp: boolean;
  readonly defaultBaud: number;
  readonly frames: readonly FrameRecognizer[];
  readonly busyPrefix?: string;
  readonly redact?: (line: string) => string;
  /** Longest response line; default AT_PARSER_DEFAULTS.maxLineLength. BC95 carries payloads as hex inside a line. */
  readonly maxLineLength?: number;
}

export type Done = (error?: HalError) => void;

/**
 * Agent Tiny's at_adaptor_api, callback-based: init (which yields the local
 * address and MAC), connect → link id, send, close, deinit; received data goes
 * to AdaptorEvents.onData.
 */
export interface AtAdaptor {
  readonly profile: AdaptorProfile;
  init(callback: (error: HalError | undefined, info?: ModemInfo) => void): void;
  /**
   * Opens a link to `remote`. `link` is the id the caller proposes (a free
   * one); an adaptor whose module picks ids (BC95) reports its own.
   */
  connect(link: number, protocol: LinkProtocol, remote: SocketAddress, callback: (error: HalError | undefined, link?: number, localPort?: number) => void): void;
  send(link: number, protocol: LinkProtocol, data: Uint8Array, remote: SocketAddress, callback: Done): void;
  close(link: number, callback: Done): void;
  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void;
  deinit(callback: Done): void;
}

export type Step = (next: Done) => void;

/** Runs steps one after another; the first failure ends the run. */
export function sequence(steps: readonly Step[], done: Done): void {
  let index = 0;
  const next: Done = (error) => {
    if (error || index >= steps.length) {
      done(error);
      return;
    }
    const step = steps[index++]!;
    step(next);
  };
  next();
}

/** A step that runs one command and, when given, checks its response. */
export function command(channel: AtChannel, at: AtCommand, check?: (response: AtResponse) => HalError | undefined): Step {
  return (next) =>
    channel.execute(at, (error: AtError | undefined, response) => {
      if (error) next(error);
      else next(check?.(response));
    });
}

/**
 * Repeats `at` every `intervalMs` until `check` says "done" (or fails), at
 * most `maxPolls` times (CREG?, CGATT?).
 */
export function poll(
  context: AdaptorContext,
  at: AtCommand,
  check: (response: AtResponse) => "done" | "again" | HalError,
  intervalMs: number,
  maxPolls: number,
  giveUp: () => HalError,
): Step {
  return (next) => {
    let polls = 0;
    const attempt = (): void => {
      context.channel.execute(at, (error, response) => {
        if (error && error.failure !== "error") return next(error);
        const verdict = error ? "again" : check(response);
        if (verdict === "done") return next();
        if (verdict !== "again") return next(verdict);
        if (++polls >= maxPolls) return next(giveUp());
        context.schedule(intervalMs, attempt);
      });
    };
    attempt();
  };
}

/** The text after `prefix` in the first collected line that starts with it. */
export function field(response: AtResponse, prefix: string): string | undefined {
  for (const line of response.lines) if (line.startsWith(prefix)) return line.slice(prefix.length).trim();
  return undefined;
}
