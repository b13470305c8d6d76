import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import { HalError, type HalErrorCode } from "../../errors.js";
import { isValidPort, type Net, type SocketAddress, type TcpConnection, type TcpOptions, type UdpEndpoint, type UdpOptions } from "../../net.js";

/** Largest UDP payload we let the host send: a 1500-byte Ethernet MTU less IPv6 and UDP headers. */
export const HOST_MAX_DATAGRAM = 1452;

function halErrorFrom(error: NodeJS.ErrnoException): HalError {
  const map: Record<string, HalErrorCode> = {
    ECONNREFUSED: "refused",
    EHOSTUNREACH: "unreachable",
    ENETUNREACH: "unreachable",
    ENOTFOUND: "dns-failed",
    EAI_AGAIN: "dns-failed",
    EMSGSIZE: "too-large",
    EPIPE: "closed",
    ECONNRESET: "closed",
    ERR_SOCKET_DGRAM_NOT_RUNNING: "closed",
  };
  return new HalError(map[error.code ?? ""] ?? "io", error.message);
}

/** Net on Node's dgram, net and dns modules. */
export class NodeNet implements Net {
  readonly maxDatagramSize = HOST_MAX_DATAGRAM;

  openUdp(options: UdpOptions): UdpEndpoint {
    const socket = dgram.createSocket("udp4");
    let closed = false;
    socket.on("message", (message, remote) => {
      if (!closed) options.onDatagram(new Uint8Array(message.buffer, message.byteOffset, message.length), { address: remote.address, port: remote.port });
    });
    socket.on("error", (error) => {
      if (!closed) options.onError?.(halErrorFrom(error));
    });
    socket.bind({ port: options.localPort ?? 0, address: "0.0.0.0" });
    let localPort = options.localPort ?? 0;
    socket.once("listening", () => {
      localPort = socket.address().port;
    });
    const maxDatagram = this.maxDatagramSize;
    // Sends complete on a later tick: a close right after a send (a DTLS close_notify) waits for them.
    let sending = 0;
    let closeWhenSent = false;
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
        if (!net.isIP(to.address) || !isValidPort(to.port)) throw new HalError("address-invalid", `bad destination ${to.address}:${to.port}`);
        sending++;
        socket.send(data, to.port, to.address, (error) => {
          if (error && !closed) options.onError?.(halErrorFrom(error));
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
    if (!isValidPort(options.port)) throw new HalError("address-invalid", `bad TCP port ${options.port}`);
    const socket = net.connect({ host: options.host, port: options.port });
    let closed = false;
    const finish = (error?: HalError) => {
      if (closed) return;
      closed = true;
      options.onClose(error);
    };
    socket.on("connect", () => options.onConnect?.());
    socket.on("data", (chunk) => options.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    socket.on("error", (error) => finish(halErrorFrom(error)));
    socket.on("close", () => finish());
    return {
      get closed() {
        return closed;
      },
      send(data: Uint8Array) {
        if (closed) throw new HalError("closed", "send on a closed TCP connection");
        socket.write(data);
      },
      close() {
        if (closed) return;
        closed = true;
        socket.destroy();
      },
    };
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    if (net.isIP(host)) {
      queueMicrotask(() => callback(undefined, host));
      return;
    }
    dns.lookup(host, { family: 4 }, (error, address) => {
      if (error) callback(halErrorFrom(error));
      else callback(undefined, address);
    });
  }
}

/** Resolves once a UDP endpoint has its local port (Node binds asynchronously). */
export function whenBound(endpoint: UdpEndpoint): Promise<UdpEndpoint> {
  return new Promise((resolve) => {
    const check = () => (endpoint.localPort || endpoint.closed ? resolve(endpoint) : setImmediate(check));
    check();
  });
}
