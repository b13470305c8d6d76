import { HalError } from "../../hal/errors.js";
import type { SocketAddress } from "../../hal/net.js";
import type { AtAdaptor, LinkProtocol } from "./adaptor.js";
import { LinkQueue } from "./link-queue.js";

/** What a link needs of the ModemNet that owns it. */
export interface LinkHost {
  readonly ready: boolean;
  readonly adaptor: AtAdaptor;
  /** A free link id, reserved for `link`; undefined when all are taken. */
  reserve(link: ModemLink): number | undefined;
  /** The module's id for the link differs from the one reserved (BC95 picks its own). */
  rebind(link: ModemLink, from: number, to: number): void;
  release(link: ModemLink, id: number): void;
  /** A command for this link failed: the host decides whether the module stopped answering. */
  noteFailure(error: HalError): void;
  /** How opening a link ended: opens the module keeps refusing mean it lost its network. */
  noteOpen(error: HalError | undefined): void;
  /** The module's link `id` is presumed gone: close it there if it still exists, and free the id. */
  abandon(link: ModemLink, id: number): void;
  /** A link that had been open is open again, on a new module link. */
  reopened(link: ModemLink): void;
  /** The link has data but the module is not up yet: open it once the module is ready. */
  waitForReady(link: ModemLink): void;
  schedule(delayMs: number, callback: () => void): void;
  forget(link: ModemLink): void;
}

export interface LinkOwner {
  onOpen?(localPort: number): void;
  onData(data: Uint8Array, from: SocketAddress): void;
  onError(error: HalError): void;
}

type LinkState = "down" | "opening" | "open" | "closed";

export const MODEM_LINK_DEFAULTS = Object.freeze({
  maxPendingSends: 4,
  receiveDepth: 4,
  /** Sends refused with ERROR in a row before the link is presumed lost and reopened (a BC95 drops sockets without a URC). */
  sendErrorsBeforeReopen: 2,
});

/**
 * One module link to one remote: it opens lazily, holds a few datagrams
 * (bounded, the oldest dropped) until it is up, sends them one at a time and
 * queues received data (bounded) for its owner.
 */
export class ModemLink {
  readonly protocol: LinkProtocol;
  readonly remote: SocketAddress;
  private readonly host: LinkHost;
  private readonly owner: LinkOwner;
  private readonly pending: Uint8Array[] = [];
  private readonly received = new LinkQueue(MODEM_LINK_DEFAULTS.receiveDepth);
  private state: LinkState = "down";
  private id: number | undefined;
  private sending = false;
  private draining = false;
  /** Bumped whenever the link goes down, so late callbacks of an earlier link are ignored. */
  private epoch = 0;
  private sendErrors = 0;
  private everOpen = false;
  droppedSends = 0;

  constructor(host: LinkHost, owner: LinkOwner, protocol: LinkProtocol, remote: SocketAddress) {
    this.host = host;
    this.owner = owner;
    this.protocol = protocol;
    this.remote = remote;
  }

  get linkId(): number | undefined {
    return this.id;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  get droppedReceives(): number {
    return this.received.dropped;
  }

  send(data: Uint8Array): void {
    if (this.state === "closed") throw new HalError("closed", "the modem link is closed");
    if (this.pending.length >= MODEM_LINK_DEFAULTS.maxPendingSends) {
      this.pending.shift();
      this.droppedSends++;
    }
    this.pending.push(data.slice());
    this.pump();
  }

  /** Opens the link now if it is down and the modem is up (after a recovery). */
  reopen(): void {
    if (this.state === "down" && this.host.ready) this.open();
  }

  pump(): void {
    if (this.state === "closed") return;
    if (!this.host.ready) {
      if (this.pending.length > 0) this.host.waitForReady(this);
      return;
    }
    if (this.state === "down") {
      if (this.pending.length > 0 || this.protocol === "tcp") this.open();
      return;
    }
    if (this.state !== "open" || this.sending || this.pending.length === 0) return;
    const data = this.pending.shift()!;
    const epoch = this.epoch;
    this.sending = true;
    this.host.adaptor.send(this.id!, this.protocol, data, this.remote, (error) => {
      if (epoch !== this.epoch) return;
      this.sending = false;
      if (error) {
        this.owner.onError(error);
        this.host.noteFailure(error);
        if (isRefusal(error) && ++this.sendErrors >= MODEM_LINK_DEFAULTS.sendErrorsBeforeReopen) this.abandon();
      } else this.sendErrors = 0;
      this.pump();
    });
  }

  /** The module closed this link or lost every link. */
  down(error: HalError): void {
    if (this.state === "closed" || this.state === "down") return;
    this.epoch++;
    this.state = "down";
    this.id = undefined;
    this.sending = false;
    this.owner.onError(error);
  }

  /** The module keeps refusing sends on this link: give it up there and open a new one with the next send. */
  private abandon(): void {
    const id = this.id;
    this.epoch++;
    this.state = "down";
    this.id = undefined;
    this.sending = false;
    this.sendErrors = 0;
    if (id !== undefined) this.host.abandon(this, id);
  }

  deliver(data: Uint8Array, from: SocketAddress | undefined): void {
    if (this.state === "closed") return;
    this.received.push(data, from ?? this.remote);
    if (this.draining) return;
    this.draining = true;
    // Delivered from a timer, not from inside the serial callback, so the owner may send at once.
    this.host.schedule(0, () => {
      this.draining = false;
      for (let item = this.received.shift(); item && this.state !== "closed"; item = this.received.shift()) {
        this.owner.onData(item.data, item.remote ?? this.remote);
      }
    });
  }

  close(): void {
    if (this.state === "closed") return;
    const id = this.id;
    const wasUp = this.state === "open" || this.state === "opening";
    this.epoch++;
    this.state = "closed";
    this.id = undefined;
    this.pending.length = 0;
    this.received.clear();
    this.host.forget(this);
    if (id === undefined) return;
    if (wasUp && this.host.ready) this.host.adaptor.close(id, () => this.host.release(this, id));
    else this.host.release(this, id);
  }

  private open(): void {
    const id = this.host.reserve(this);
    if (id === undefined) {
      this.pending.length = 0;
      this.owner.onError(new HalError("busy", `every modem link is in use; ${this.remote.address}:${this.remote.port} waits`));
      return;
    }
    const epoch = this.epoch;
    this.state = "opening";
    this.id = id;
    this.host.adaptor.connect(id, this.protocol, this.remote, (error, actual, localPort) => {
      // Closed meanwhile (close() queued the CIPCLOSE behind this command) or the modem was reset.
      if (epoch !== this.epoch) return;
      if (error || actual === undefined) {
        this.state = "down";
        this.id = undefined;
        this.host.release(this, id);
        this.pending.length = 0;
        const failure = error ?? new HalError("io", "the module opened no link");
        this.owner.onError(failure);
        this.host.noteFailure(failure);
        this.host.noteOpen(failure);
        return;
      }
      this.host.noteOpen(undefined);
      if (actual !== id) this.host.rebind(this, id, actual);
      this.id = actual;
      this.state = "open";
      if (this.everOpen) this.host.reopened(this);
      this.everOpen = true;
      this.owner.onOpen?.(localPort ?? 0);
      this.pump();
    });
  }
}

/** The module answered ERROR (or +CME ERROR): it is alive but will not do it. */
function isRefusal(error: HalError): boolean {
  return (error as { failure?: string }).failure === "error";
}
