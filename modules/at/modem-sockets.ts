import { HalError } from "../../hal/errors.js";
import { isNumericAddress, isValidPort, type SocketAddress, type TcpConnection, type TcpOptions, type UdpEndpoint, type UdpOptions } from "../../hal/net.js";
import { ModemLink, type LinkHost } from "./modem-link.js";

/**
 * A UDP endpoint over modem links: one link per remote address, opened on the
 * first send to it. Failures of a link reach options.onError; the next send
 * reopens it.
 */
export class ModemUdpEndpoint implements UdpEndpoint {
  private readonly host: LinkHost;
  private readonly options: UdpOptions;
  private readonly maxSize: number;
  private readonly maxLinks: number;
  private readonly links = new Map<string, ModemLink>();
  private port = 0;
  private isClosed = false;

  constructor(host: LinkHost, options: UdpOptions, maxSize: number, maxLinks: number) {
    this.host = host;
    this.options = options;
    this.maxSize = maxSize;
    this.maxLinks = maxLinks;
  }

  get localPort(): number {
    return this.port;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: Uint8Array, to: SocketAddress): void {
    if (this.isClosed) throw new HalError("closed", "UDP endpoint closed");
    if (data.length > this.maxSize) throw new HalError("too-large", `${data.length} bytes exceed the modem's ${this.maxSize}`);
    if (!isNumericAddress(to.address) || !isValidPort(to.port)) throw new HalError("address-invalid", `${to.address}:${to.port}`);
    const key = `${to.address}|${to.port}`;
    let link = this.links.get(key);
    if (!link || link.closed) {
      if (this.links.size >= this.maxLinks) throw new HalError("busy", `this endpoint already talks to ${this.maxLinks} remotes`);
      link = new ModemLink(
        this.host,
        {
          onOpen: (localPort) => {
            if (localPort > 0 && this.port === 0) this.port = localPort;
          },
          onData: (payload, from) => {
            if (!this.isClosed) this.options.onDatagram(payload, from);
          },
          onError: (error) => {
            if (!this.isClosed) this.options.onError?.(error);
          },
        },
        "udp",
        { address: to.address, port: to.port },
      );
      this.links.set(key, link);
    }
    link.send(data);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}

/** A TCP connection over one modem link (ESP8266, SIM900A). */
export class ModemTcpConnection implements TcpConnection {
  private readonly options: TcpOptions;
  private readonly maxChunk: number;
  private link: ModemLink | undefined;
  private ended = false;

  constructor(options: TcpOptions, maxChunk: number) {
    this.options = options;
    this.maxChunk = maxChunk;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Starts the link once the host name is a numeric address. */
  connect(host: LinkHost, address: string): void {
    if (this.ended) return;
    this.link = new ModemLink(
      host,
      {
        onOpen: () => this.options.onConnect?.(),
        onData: (data) => {
          if (!this.ended) this.options.onData(data);
        },
        onError: (error) => this.end(error.code === "closed" ? undefined : error),
      },
      "tcp",
      { address, port: this.options.port },
    );
    this.link.pump();
  }

  send(data: Uint8Array): void {
    if (this.ended) throw new HalError("closed", "TCP connection closed");
    if (!this.link) throw new HalError("io", "TCP connection not yet open");
    for (let offset = 0; offset < data.length; offset += this.maxChunk) this.link.send(data.subarray(offset, offset + this.maxChunk));
  }

  close(): void {
    this.end(undefined);
  }

  /** Ends the connection once; `error` absent for an orderly close. */
  end(error: HalError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.link?.close();
    this.options.onClose(error);
  }
}
