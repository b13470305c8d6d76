import type { HalError } from "./errors.js";

/** A numeric IPv4/IPv6 address and port. */
export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

export interface UdpOptions {
  /** Local port to bind; 0 or absent picks an ephemeral port. */
  readonly localPort?: number;
  /** Called for every datagram received; `data` is owned by the callee. */
  readonly onDatagram: (data: Uint8Array, from: SocketAddress) => void;
  /** Asynchronous failures (ICMP unreachable, interface down). */
  readonly onError?: (error: HalError) => void;
}

/**
 * A UDP endpoint. Agent Tiny's atiny_net_connect(UDP)/send/recv/close map onto
 * open/send/onDatagram/close; recv_timeout is a Time timer beside onDatagram.
 */
export interface UdpEndpoint {
  /** Sends one datagram; throws HalError ("too-large", "closed", "address-invalid", "io"). */
  send(data: Uint8Array, to: SocketAddress): void;
  close(): void;
  /**
   * Bound local port; 0 while unknown (Node binds asynchronously, and an
   * ECMA-419 socket on an ephemeral port does not report it).
   */
  readonly localPort: number;
  readonly closed: boolean;
}

export interface TcpOptions {
  readonly host: string;
  readonly port: number;
  readonly onConnect?: () => void;
  readonly onData: (data: Uint8Array) => void;
  /** Called once when the connection ends; `error` is absent for an orderly close. */
  readonly onClose: (error?: HalError) => void;
}

export interface TcpConnection {
  /** Queues bytes for sending; throws HalError ("closed", "io"). */
  send(data: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

export interface Net {
  /** Largest UDP payload the port can carry. */
  readonly maxDatagramSize: number;
  openUdp(options: UdpOptions): UdpEndpoint;
  connectTcp(options: TcpOptions): TcpConnection;
  /** Resolves a host name (or passes a numeric address through) asynchronously. */
  resolve(host: string, callback: (error: HalError | undefined, address?: string) => void): void;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isNumericAddress(host: string): boolean {
  return IPV4.test(host) || (host.indexOf(":") >= 0 && /^[0-9a-fA-F:.]+$/.test(host));
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}
