/**
 * The development server's sockets: UDP bound to the address it prints
 * (--address, default 127.0.0.1) rather than every interface, and a bind
 * failure (a port in use) reported to the caller, who exits with a clear
 * message instead of running on without a socket.
 */
import dgram from "node:dgram";
import type http from "node:http";
import net from "node:net";
import { HalError } from "../../hal/errors.js";
import { NodeNet } from "../../hal/host/node/node-net.js";
import type { Net, SocketAddress, TcpConnection, TcpOptions, UdpEndpoint, UdpOptions } from "../../hal/net.js";

export const DEFAULT_ADDRESS = "127.0.0.1";

/** A port the server could not bind; `message` says what to do. */
export class BindError extends Error {
  readonly code: string | undefined;
  readonly port: number;
  constructor(message: string, port: number, code: string | undefined) {
    super(message);
    this.port = port;
    this.code = code;
    Object.defineProperty(this, "name", { value: "BindError", writable: true, configurable: true });
  }
}

/** Checks an --address value: a numeric IPv4 or IPv6 address. */
export function parseAddress(text: string | undefined, option = "--address"): string {
  if (text === undefined || net.isIP(text) === 0) throw new Error(`${option} needs a numeric IP address (127.0.0.1, 0.0.0.0 for every interface, ::1), got "${text ?? ""}"`);
  return text;
}

/** An address as it goes in a URI: IPv6 in brackets. */
export function uriHost(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

function describeBindFailure(kind: "UDP" | "TCP", address: string, port: number, error: NodeJS.ErrnoException, hint: string): string {
  const what = `${kind} port ${port} on ${address}`;
  if (error.code === "EADDRINUSE") return `${what} is in use (another server running?); ${hint}`;
  if (error.code === "EADDRNOTAVAIL") return `${what}: ${address} is not an address of this machine; give --address one that is (or 0.0.0.0)`;
  if (error.code === "EACCES") return `${what}: permission denied; ${hint}`;
  return `${what} could not be bound: ${error.message}`;
}

/**
 * Net for the server: UDP sockets bound to `address`; TCP and name
 * resolution as on Node. bound() tells whether every socket opened so far
 * got its port.
 */
export class ServerNet implements Net {
  readonly maxDatagramSize: number;
  private readonly node = new NodeNet();
  private readonly address: string;
  private readonly binding: Promise<void>[] = [];
  private readonly hints: (port: number) => string;

  /** `hint(port)` says how to choose another port (the option naming it), for the message of a port in use. */
  constructor(address: string, hint: (port: number) => string = () => "pick another port") {
    this.address = address;
    this.hints = hint;
    this.maxDatagramSize = this.node.maxDatagramSize;
  }

  /** Resolves once every UDP socket opened so far is bound; rejects with a BindError for the first that could not be. */
  bound(): Promise<void> {
    return Promise.all(this.binding).then(() => undefined);
  }

  openUdp(options: UdpOptions): UdpEndpoint {
    const socket = dgram.createSocket(net.isIPv6(this.address) ? "udp6" : "udp4");
    const requested = options.localPort ?? 0;
    let closed = false;
    let localPort = 0;
    let listening = false;
    let sending = 0;
    let closeWhenSent = false;
    this.binding.push(
      new Promise<void>((resolve, reject) => {
        socket.once("listening", () => {
          listening = true;
          localPort = socket.address().port;
          resolve();
        });
        socket.on("error", (error: NodeJS.ErrnoException) => {
          if (!listening) {
            closed = true;
            socket.close();
            reject(new BindError(describeBindFailure("UDP", this.address, requested, error, this.hints(requested)), requested, error.code));
          } else if (!closed) options.onError?.(new HalError("io", error.message));
        });
      }),
    );
    // A failed bind is reported by bound(); nobody else need catch it.
    this.binding[this.binding.length - 1]!.catch(() => undefined);
    socket.on("message", (message, remote) => {
      if (!closed) options.onDatagram(new Uint8Array(message.buffer, message.byteOffset, message.length), { address: remote.address, port: remote.port });
    });
    socket.bind({ port: requested, address: this.address });
    const maxDatagram = this.maxDatagramSize;
    return {
      get localPort() {
        return localPort;
      },
      get closed() {
        return closed;
      },
      send(data: Uint8Array, to: SocketAddress) {
        if (closed) throw new HalError("closed", "send on a closed UDP endpoint");
        if (data.length > maxDatagram) throw new HalError("too-large", `datagram of ${data.length} bytes exceeds ${maxDatagram}`);
        if (!net.isIP(to.address) || !(to.port > 0 && to.port < 65536)) throw new HalError("address-invalid", `bad destination ${to.address}:${to.port}`);
        sending++;
        socket.send(data, to.port, to.address, (error) => {
          if (error && !closed) options.onError?.(new HalError("io", error.message));
          if (--sending === 0 && closeWhenSent) socket.close();
        });
      },
      close() {
        if (closed) return;
        closed = true;
        if (sending > 0) closeWhenSent = true;
        else socket.close();
      },
    };
  }

  connectTcp(options: TcpOptions): TcpConnection {
    return this.node.connectTcp(options);
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    this.node.resolve(host, callback);
  }
}

/** Listens with `server` on address:port; a port in use rejects with a BindError naming --http-port. */
export function listenHttp(server: http.Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new BindError(describeBindFailure("TCP", address, port, error, "pick another with --http-port N, or --http-port 0 to run without the HTTP API"), port, error.code));
    server.once("error", onError);
    server.listen(port, address, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
