import { HalError, isHalError } from "../../hal/errors.js";
import type { Logger } from "../../hal/log.js";
import { isNumericAddress, type Net, type SocketAddress, type TcpConnection, type TcpOptions, type UdpEndpoint, type UdpOptions } from "../../hal/net.js";
import type { Platform } from "../../hal/platform.js";
import type { SerialPort } from "../../hal/serial.js";
import type { TimerHandle } from "../../hal/time.js";
import type { AdaptorContext, AdaptorProfile, AtAdaptor, ModemInfo } from "./adaptor.js";
import { AtChannel } from "./at-channel.js";
import { AtError } from "./at-errors.js";
import { BC95_PROFILE, Bc95Adaptor } from "./bc95.js";
import { ESP8266_PROFILE, Esp8266Adaptor } from "./esp8266.js";
import { LinkTable } from "./link-table.js";
import type { LinkHost } from "./modem-link.js";
import type { ModemKind, ModemSettings } from "./modem-settings.js";
import { ModemTcpConnection, ModemUdpEndpoint } from "./modem-sockets.js";
import { SIM900A_PROFILE, Sim900aAdaptor } from "./sim900a.js";

export { MODEM_KINDS, isModemKind, type ModemKind, type ModemSettings } from "./modem-settings.js";

export type ModemState = "starting" | "ready" | "recovering" | "stopped";

export interface ModemNetEvents {
  onState?(state: ModemState, detail: string): void;
  /**
   * A link that had been open was opened again (after a drop or a module
   * recovery): peers may now see the device on another address or port.
   */
  onLinkReopened?(remote: SocketAddress): void;
}

export type ModemPlatform = Pick<Platform, "serial" | "time" | "log" | "createMutex">;

const PROFILES: Readonly<Record<ModemKind, AdaptorProfile>> = Object.freeze({ esp8266: ESP8266_PROFILE, sim900a: SIM900A_PROFILE, bc95: BC95_PROFILE });

export const MODEM_NET_DEFAULTS = Object.freeze({
  /** Commands queued behind the running one. */
  commandQueue: 8,
  /** Timeouts in a row before an AT probe decides whether the module still answers. */
  timeoutsBeforeProbe: 3,
  /** Link opens refused with ERROR in a row before the module is re-initialised. */
  openRefusalsBeforeReinit: 3,
  probeTimeoutMs: 2000,
  retryFirstMs: 1000,
  retryMaxMs: 60000,
  /** resolve() calls waiting for the modem to come up. */
  maxReadyWaiters: 4,
});

/**
 * The HAL Net over an AT-command modem on platform.serial. It brings the
 * module up, keeps it up (re-initialising after silence, a reset or a lost
 * network, with back-off, until stop()), and carries UDP endpoints and TCP
 * connections over the module's links. The layers above see network errors
 * through onError and a recovery, never a hang.
 */
export class ModemNet implements Net {
  readonly maxDatagramSize: number;
  private readonly adaptor: AtAdaptor;
  private readonly host: LinkHost;
  private readonly platform: ModemPlatform;
  private readonly settings: ModemSettings;
  private readonly events: ModemNetEvents;
  private readonly log: Logger;
  private readonly channel: AtChannel;
  private readonly profile: AdaptorProfile;
  private readonly timers = new Set<TimerHandle>();
  private readonly table: LinkTable;
  private readonly readyWaiters: ((error: HalError | undefined) => void)[] = [];
  private readonly stopWaiters: (() => void)[] = [];
  private port: SerialPort | undefined;
  private current: ModemState = "stopped";
  private started = false;
  private stopping = false;
  private info: ModemInfo | undefined;
  private retryMs: number = MODEM_NET_DEFAULTS.retryFirstMs;
  private initRun = 0;
  private probing = false;

  constructor(platform: ModemPlatform, settings: ModemSettings, events: ModemNetEvents = {}) {
    const profile = PROFILES[settings.modem];
    if (!profile) throw new HalError("invalid-argument", `unknown modem "${String(settings.modem)}"`);
    this.platform = platform;
    this.settings = settings;
    this.events = events;
    this.profile = profile;
    this.maxDatagramSize = profile.maxDatagramSize;
    this.log = platform.log.child("at");
    const channelOptions = {
      time: platform.time,
      log: this.log,
      mutex: platform.createMutex("at", MODEM_NET_DEFAULTS.commandQueue),
      ...(settings.commandTimeoutMs !== undefined ? { defaultTimeoutMs: settings.commandTimeoutMs } : {}),
      ...(profile.busyPrefix !== undefined ? { busyPrefix: profile.busyPrefix } : {}),
      ...(profile.redact !== undefined ? { redact: profile.redact } : {}),
      ...(profile.maxLineLength !== undefined ? { maxLineLength: profile.maxLineLength } : {}),
    };
    this.channel = new AtChannel(channelOptions);
    for (const frame of profile.frames) this.channel.addFrame(frame);
    this.channel.onFrames((header, data) => this.onData(header.link, data, header.remote));
    const context: AdaptorContext = {
      channel: this.channel,
      time: platform.time,
      log: this.log,
      settings,
      events: {
        onData: (link, data, remote) => this.onData(link, data, remote),
        onLinkClosed: (link, reason) => this.onLinkClosed(link, reason),
        onModemLost: (reason) => this.lose(reason),
      },
      schedule: (delayMs, callback) => this.schedule(delayMs, callback),
    };
    this.adaptor = settings.modem === "esp8266" ? new Esp8266Adaptor(context) : settings.modem === "sim900a" ? new Sim900aAdaptor(context) : new Bc95Adaptor(context);
    const table = (this.table = new LinkTable(profile.maxLinks));
    const net = this;
    this.host = {
      get ready() {
        return net.current === "ready";
      },
      adaptor: this.adaptor,
      reserve: (link) => table.reserve(link),
      rebind: (link, from, to) => table.rebind(link, from, to),
      release: (link, id) => table.release(link, id),
      forget: (link) => table.forget(link),
      noteFailure: (error) => this.noteFailure(error),
      noteOpen: (error) => this.noteOpen(error),
      reopened: (link) => this.events?.onLinkReopened?.(link.remote),
      waitForReady: (link) => table.track(link),
      abandon: (link, id) => {
        table.release(link, id);
        this.adaptor.close(id, () => undefined);
      },
      schedule: (delayMs, callback) => this.schedule(delayMs, callback),
    };
  }

  get state(): ModemState {
    return this.current;
  }

  get localAddress(): string | undefined {
    return this.info?.localAddress;
  }

  get macAddress(): string | undefined {
    return this.info?.macAddress;
  }

  /** Counters for the field log and tests. */
  get stats(): { readonly noiseLines: number; readonly timeouts: number; readonly droppedLines: number; readonly rejectedFrames: number } {
    return this.channel.stats;
  }

  start(): void {
    if (this.started) return;
    if (!this.platform.serial) throw new HalError("not-found", `no serial port for the ${this.settings.modem} modem: this platform has none configured`);
    this.openPort();
    this.started = true;
    this.setState("starting", `${this.settings.modem} at ${this.baud} baud`);
    this.initialise();
  }

  stop(done: () => void): void {
    if (!this.started) {
      done();
      return;
    }
    this.stopWaiters.push(done);
    if (this.stopping) return;
    this.stopping = true;
    this.initRun++;
    this.clearTimers();
    const open = this.current === "ready" ? this.table.ids() : [];
    const closeNext = (): void => {
      const id = open.shift();
      if (id === undefined) return this.finishStop();
      this.adaptor.close(id, () => closeNext());
    };
    closeNext();
  }

  openUdp(options: UdpOptions): UdpEndpoint {
    return new ModemUdpEndpoint(this.host, options, this.maxDatagramSize, this.profile.maxLinks);
  }

  connectTcp(options: TcpOptions): TcpConnection {
    if (!this.profile.tcp) throw new HalError("invalid-argument", `${this.settings.modem.toUpperCase()} has no TCP`);
    const connection = new ModemTcpConnection(options, this.maxDatagramSize);
    this.resolve(options.host, (error, address) => {
      if (error || !address) connection.end(error ?? new HalError("dns-failed", options.host));
      else connection.connect(this.host, address);
    });
    return connection;
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    if (isNumericAddress(host)) return this.schedule(0, () => callback(undefined, host));
    if (this.settings.modem === "bc95") return this.schedule(0, () => callback(new HalError("dns-failed", "BC95 adaptor resolves numeric addresses only")));
    this.whenReady((error) => {
      if (error) callback(error);
      else this.adaptor.resolve(host, callback);
    });
  }

  private noteFailure(error: HalError): void {
    if (!(error instanceof AtError) || error.failure !== "timeout" || this.current !== "ready" || this.probing) return;
    if (this.channel.consecutiveTimeouts < MODEM_NET_DEFAULTS.timeoutsBeforeProbe) return;
    this.probing = true;
    this.channel.execute({ text: "AT", timeoutMs: MODEM_NET_DEFAULTS.probeTimeoutMs }, (probeError) => {
      this.probing = false;
      if (probeError && probeError.failure === "timeout") this.lose("module stopped answering");
    });
  }

  /** True while adaptor.init runs. */
  private initializing = false;

  /** Links the module refuses to open, in a row, before it is presumed to have lost its network (attach, PDP context). */
  private openRefusals = 0;

  private noteOpen(error: HalError | undefined): void {
    if (!error) {
      this.openRefusals = 0;
      return;
    }
    if (!(error instanceof AtError) || error.failure !== "error") return;
    if (++this.openRefusals < MODEM_NET_DEFAULTS.openRefusalsBeforeReinit) return;
    this.openRefusals = 0;
    this.lose("the module refuses to open links");
  }

  private schedule(delayMs: number, callback: () => void): void {
    const handle = this.platform.time.setTimer(delayMs, () => {
      this.timers.delete(handle);
      callback();
    });
    this.timers.add(handle);
  }

  // Lifecycle

  private get baud(): number {
    return this.settings.baud ?? this.profile.defaultBaud;
  }

  private openPort(): void {
    const serial = this.platform.serial;
    if (!serial) throw new HalError("not-found", "no serial port configured");
    const port = serial.open({
      baud: this.baud,
      onReceive: (data) => {
        try {
          this.channel.feed(data);
        } catch (error) {
          this.log.error(`AT input handling failed: ${(error as Error).message}`);
        }
      },
      onError: (error) => {
        this.log.warn(`serial port failed: ${error.message}`);
        if (this.port === port) this.port = undefined;
        this.lose("serial port failed", true);
      },
    });
    this.port = port;
    this.channel.attach((data) => port.write(data));
  }

  private initialise(): void {
    const run = ++this.initRun;
    if (!this.port || this.port.closed) {
      try {
        this.openPort();
      } catch (error) {
        return this.retry(run, isHalError(error) ? error : new HalError("io", String(error)));
      }
    }
    this.initializing = true;
    this.adaptor.init((error, info) => {
      if (run !== this.initRun || this.stopping) return;
      this.initializing = false;
      if (error) return this.retry(run, error);
      this.info = info;
      this.retryMs = MODEM_NET_DEFAULTS.retryFirstMs;
      this.setState("ready", `address ${info?.localAddress ?? "unknown"}`);
      for (const waiter of this.readyWaiters.splice(0)) waiter(undefined);
      for (const link of this.table.links()) link.reopen();
    });
  }

  private retry(run: number, error: HalError): void {
    if (run !== this.initRun || this.stopping) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MODEM_NET_DEFAULTS.retryMaxMs);
    this.log.warn(`${this.settings.modem} init failed (${error.message}); retrying in ${delay / 1000} s`);
    this.events.onState?.(this.current, `init failed: ${error.message}`);
    this.channel.abort("init failed");
    this.schedule(delay, () => this.initialise());
  }

  /** The module reset, stopped answering or lost its network: every link is gone; re-initialise. */
  private lose(reason: string, force = false): void {
    if (!this.started || this.stopping) return;
    if (this.current !== "ready" && !force) {
      // A restart during start-up (the module's boot lines after its power-up): whatever answered the
      // running command may be a boot line, so the answers that follow would be off by one. Start over.
      if (!this.initializing) return;
      this.initializing = false;
      this.retry(++this.initRun, new HalError("io", `${reason} during start-up`));
      return;
    }
    this.log.warn(`${this.settings.modem}: ${reason}; re-initialising`);
    this.initRun++;
    this.setState("recovering", reason);
    this.channel.abort(reason);
    this.table.clearIds();
    const error = new HalError("unreachable", `${this.settings.modem}: ${reason}; recovering`);
    for (const link of this.table.links()) link.down(error);
    this.schedule(this.retryMs, () => this.initialise());
  }

  private onData(id: number, data: Uint8Array, remote: SocketAddress | undefined): void {
    const link = this.table.get(id);
    if (link) link.deliver(data, remote);
    else this.log.debug(`data for unknown link ${id} dropped (${data.length} bytes)`);
  }

  private onLinkClosed(id: number, reason: string): void {
    const link = this.table.get(id);
    if (!link) return;
    this.table.drop(id);
    // For TCP the peer's close is the orderly end of the connection.
    link.down(new HalError(link.protocol === "tcp" ? "closed" : "io", `modem link ${id} ${reason}`));
  }

  private whenReady(callback: (error: HalError | undefined) => void): void {
    if (this.current === "ready") return callback(undefined);
    if (!this.started || this.stopping) return callback(new HalError("closed", "the modem is stopped"));
    if (this.readyWaiters.length >= MODEM_NET_DEFAULTS.maxReadyWaiters) return callback(new HalError("queue-full", "too many requests wait for the modem"));
    this.readyWaiters.push(callback);
  }

  private finishStop(): void {
    this.current = "stopped";
    this.channel.abort("stopped");
    this.channel.attach(undefined);
    this.clearTimers();
    for (const link of this.table.links()) link.close();
    this.table.clear();
    const port = this.port;
    this.port = undefined;
    if (port && !port.closed) port.close();
    this.setState("stopped", "stopped");
    for (const waiter of this.readyWaiters.splice(0)) waiter(new HalError("closed", "the modem stopped"));
    this.started = false;
    this.stopping = false;
    for (const done of this.stopWaiters.splice(0)) done();
  }

  private clearTimers(): void {
    for (const handle of this.timers) this.platform.time.clearTimer(handle);
    this.timers.clear();
  }

  private setState(state: ModemState, detail: string): void {
    this.current = state;
    this.log.info(`${this.settings.modem} ${state}: ${detail}`);
    this.events.onState?.(state, detail);
  }
}
