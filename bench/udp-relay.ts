import dgram from "node:dgram";

/** One datagram the client sent, as it crossed the relay. */
export interface RelayedDatagram {
  readonly step: string;
  readonly bytes: Uint8Array;
}

/**
 * A UDP relay on loopback between one client and one server that records
 * every datagram the client sends (the UDP payload, i.e. the CoAP message)
 * under the step in progress. It sees what would go on the air whatever
 * engine runs the client (Node, or XS whose sockets Node owns), and adds
 * nothing to the traffic.
 */
export class CountingUdpRelay {
  readonly sent: RelayedDatagram[] = [];
  step = "";
  private readonly clientSide = dgram.createSocket("udp4");
  private readonly serverSide = dgram.createSocket("udp4");
  private client: { address: string; port: number } | undefined;
  private lastActivity = Date.now();

  private constructor(private readonly serverPort: number) {
    this.clientSide.on("message", (message, from) => {
      this.client = { address: from.address, port: from.port };
      this.sent.push({ step: this.step, bytes: new Uint8Array(message) });
      this.lastActivity = Date.now();
      this.serverSide.send(message, this.serverPort, "127.0.0.1");
    });
    this.serverSide.on("message", (message) => {
      this.lastActivity = Date.now();
      if (this.client) this.clientSide.send(message, this.client.port, this.client.address);
    });
  }

  /** Opens a relay towards a server on 127.0.0.1:`serverPort`. */
  static async open(serverPort: number): Promise<CountingUdpRelay> {
    const relay = new CountingUdpRelay(serverPort);
    await Promise.all([relay.clientSide, relay.serverSide].map((socket) => new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve))));
    return relay;
  }

  /** The port a client sends to. */
  get port(): number {
    return this.clientSide.address().port;
  }

  /** Resolves once nothing crossed the relay in either direction for `quietMs`. */
  async quiet(quietMs: number): Promise<void> {
    for (;;) {
      const idle = Date.now() - this.lastActivity;
      if (idle >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, quietMs - idle));
    }
  }

  /** Bytes and datagrams the client sent in `step` (every step when omitted). */
  total(step?: string): { bytes: number; datagrams: number } {
    const chosen = step === undefined ? this.sent : this.sent.filter((datagram) => datagram.step === step);
    return { bytes: chosen.reduce((sum, datagram) => sum + datagram.bytes.length, 0), datagrams: chosen.length };
  }

  close(): void {
    this.clientSide.close();
    this.serverSide.close();
  }
}
