import TCP from "embedded:io/socket/tcp";
import UDP from "embedded:io/socket/udp";
import { HalError } from "../errors.js";
import { isNumericAddress, isValidPort, type Net, type SocketAddress, type TcpConnection, type TcpOptions, type UdpEndpoint, type UdpOptions } from "../net.js";
import { resolveName } from "./resolve.js";

/** Largest datagram we send from a device: fits an unfragmented IPv4 packet on a 1280-byte path. */
export const DEVICE_MAX_DATAGRAM = 1232;

/** Net on ECMA-419 sockets (embedded:io/socket/*), present on ESP32, Zephyr and the simulator. */
export class ModdableNet implements Net {
  readonly maxDatagramSize = DEVICE_MAX_DATAGRAM;

  openUdp(options: UdpOptions): UdpEndpoint {
    let closed = false;
    const onDatagram = options.onDatagram;
    const socket = new UDP({
      ...(options.localPort ? { port: options.localPort } : {}),
      onReadable(this: UDP, packets: number) {
        while (packets-- > 0) {
          const packet = this.read();
          if (!closed) onDatagram(new Uint8Array(packet), { address: packet.address, port: packet.port });
        }
      },
      onError() {
        if (!closed) options.onError?.(new HalError("io", "UDP socket error"));
      },
    });
    const maxDatagram = this.maxDatagramSize;
    return {
      localPort: options.localPort ?? 0,
      get closed() {
        return closed;
      },
      send(data: Uint8Array, to: SocketAddress) {
        if (closed) throw new HalError("closed", "send on a closed UDP endpoint");
        if (data.length > maxDatagram) throw new HalError("too-large", `datagram of ${data.length} bytes exceeds ${maxDatagram}`);
        if (!isNumericAddress(to.address) || !isValidPort(to.port)) throw new HalError("address-invalid", `bad destination ${to.address}:${to.port}`);
        try {
          socket.write(data, to.address, to.port);
        } catch (error) {
          throw new HalError("io", `UDP write failed: ${String(error)}`);
        }
      },
      close() {
        if (closed) return;
        closed = true;
        (socket as unknown as { close(): void }).close();
      },
    };
  }

  connectTcp(options: TcpOptions): TcpConnection {
    if (!isNumericAddress(options.host)) throw new HalError("address-invalid", `connectTcp needs a numeric address; resolve "${options.host}" first`);
    let closed = false;
    let connected = false;
    const finish = (error?: HalError) => {
      if (closed) return;
      closed = true;
      options.onClose(error);
    };
    const socket = new TCP({
      address: options.host,
      port: options.port,
      onWritable() {
        if (!connected) {
          connected = true;
          options.onConnect?.();
        }
      },
      onReadable(this: TCP, bytes: number) {
        if (bytes > 0) options.onData(new Uint8Array(this.read(bytes) as ArrayBuffer));
      },
      onError() {
        finish(new HalError(connected ? "closed" : "refused", connected ? "TCP connection lost" : "TCP connection failed"));
      },
    });
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
        socket.close();
      },
    };
  }

  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void {
    if (isNumericAddress(host)) {
      Promise.resolve().then(() => callback(undefined, host));
      return;
    }
    resolveName(host, callback);
  }
}
