import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";

/** Where a datagram or connection comes from or goes to. */
export interface Remote {
  readonly address: string;
  readonly port: number;
}

export interface LinkEvents {
  /** Bytes from the remote (a datagram, or a TCP chunk). */
  data(data: Uint8Array, from: Remote): void;
  /** The link ended without being asked (TCP closed by the peer or reset). */
  closed(): void;
}

/** A module's link (a UDP "connection" or a TCP connection) carried by a real host socket. */
export interface HostLink {
  readonly kind: "UDP" | "TCP";
  readonly remote: Remote;
  /** The host port the socket is bound to. */
  readonly localPort: number;
  /** Sends to `to` (UDP) or the connected peer; resolves false when the host refused. */
  send(data: Uint8Array, to?: Remote): Promise<boolean>;
  close(): void;
}

const isLoopback = (address: string) => address.startsWith("127.") || address === "::1" || address === "localhost";

/**
 * Opens a UDP socket (bound to 127.0.0.1 on an ephemeral port when the
 * remote is a loopback address, else to every interface) or a TCP connection.
 * Rejects when TCP is refused or the remote is not an address.
 */
export function openHostLink(kind: "UDP" | "TCP", remote: Remote, events: LinkEvents): Promise<HostLink> {
  if (!net.isIP(remote.address) || !(remote.port > 0 && remote.port < 65536)) return Promise.reject(new Error(`bad remote ${remote.address}:${remote.port}`));
  return kind === "UDP" ? openUdp(remote, events) : openTcp(remote, events);
}

/** A UDP socket with no fixed remote (BC95's NSOCR), bound to `bindAddress` (default: every interface). */
export function openUdpSocket(events: LinkEvents, bindAddress?: string): Promise<HostLink> {
  return openUdp({ address: "0.0.0.0", port: 0 }, events, bindAddress);
}

function openUdp(remote: Remote, events: LinkEvents, bindAddress = isLoopback(remote.address) ? remote.address : undefined): Promise<HostLink> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(remote.address) ? "udp6" : "udp4");
    let closed = false;
    socket.on("message", (message, info) => {
      if (!closed) events.data(new Uint8Array(message), { address: info.address, port: info.port });
    });
    socket.once("error", reject);
    socket.bind({ port: 0, address: bindAddress }, () => {
      socket.removeListener("error", reject);
      socket.on("error", () => undefined);
      resolve({
        kind: "UDP",
        remote,
        localPort: socket.address().port,
        send: (data, to = remote) =>
          new Promise((done) => {
            if (closed) return done(false);
            socket.send(data, to.port, to.address, (error) => done(!error));
          }),
        close() {
          if (closed) return;
          closed = true;
          socket.close();
        },
      });
    });
  });
}

function openTcp(remote: Remote, events: LinkEvents): Promise<HostLink> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: remote.address, port: remote.port });
    let connected = false;
    let closed = false;
    socket.on("error", (error) => {
      if (!connected) reject(error);
    });
    socket.on("data", (chunk) => {
      if (!closed) events.data(new Uint8Array(chunk), remote);
    });
    socket.on("close", () => {
      if (!connected || closed) return;
      closed = true;
      events.closed();
    });
    socket.on("connect", () => {
      connected = true;
      resolve({
        kind: "TCP",
        remote,
        localPort: socket.localPort ?? 0,
        send: (data) =>
          new Promise((done) => {
            if (closed) return done(false);
            socket.write(data, (error) => done(!error));
          }),
        close() {
          if (closed) return;
          closed = true;
          socket.destroy();
        },
      });
    });
  });
}

/** The module's DNS: an IPv4 address for a host name, or undefined. */
export function lookup(host: string): Promise<string | undefined> {
  if (net.isIPv4(host)) return Promise.resolve(host);
  return new Promise((resolve) => dns.lookup(host, { family: 4 }, (error, address) => resolve(error ? undefined : address)));
}
