import type { DtlsEngine } from "../../hal/dtls.js";
import type { HalError } from "../../hal/errors.js";
import type { Platform } from "../../hal/platform.js";
import { peerKey, type Peer } from "../../modules/coap/message.js";
import type { CoapTransport } from "../../modules/coap/transport.js";
import { DtlsError, isDtlsError } from "../../modules/dtls/errors.js";
import { DtlsServerTransport, isClientHello, type DtlsServerSessionEvent, type DtlsServerTransportOptions } from "../../modules/dtls/server-transport.js";
import { DtlsTransport } from "../../modules/dtls/transport.js";
import { assert, suite, waitFor } from "./harness.js";
import { engineOf, IDENTITY, KEY, lookupOf, text } from "./dtls-helpers.js";

const FAST = Object.freeze({ handshakeMinMs: 100, handshakeMaxMs: 400 });
const SERVER: Peer = Object.freeze({ address: "10.0.0.1", port: 5684 });

/** An in-memory datagram network: ports deliver on a later turn; a detached port sends nowhere. */
class Hub {
  readonly ports = new Map<string, HubPort>();
  /** Every datagram the server port sent, in order. */
  readonly fromServer: Uint8Array[] = [];

  port(address: Peer): HubPort {
    const port = new HubPort(this, address);
    this.ports.set(peerKey(address), port);
    return port;
  }
}

class HubPort implements CoapTransport {
  readonly maxDatagramSize = 1152;
  private receiver: ((data: Uint8Array, peer: Peer) => void) | undefined;
  detached = false;

  constructor(private readonly hub: Hub, readonly address: Peer) {}

  get localPort(): number {
    return this.address.port;
  }
  listen(onDatagram: (data: Uint8Array, peer: Peer) => void, _onError?: (error: HalError) => void): void {
    this.receiver = onDatagram;
  }
  send(data: Uint8Array, peer: Peer): void {
    if (this.detached) return;
    if (peerKey(this.address) === peerKey(SERVER)) this.hub.fromServer.push(data.slice());
    const copy = data.slice();
    const from = this.address;
    void Promise.resolve().then(() => {
      const target = this.hub.ports.get(peerKey(peer));
      if (target && !target.detached) target.receiver?.(copy, from);
    });
  }
  close(): void {
    this.detached = true;
    if (this.hub.ports.get(peerKey(this.address)) === this) this.hub.ports.delete(peerKey(this.address));
  }
}

interface Server {
  readonly transport: DtlsServerTransport;
  readonly received: { text: string; peer: string }[];
  readonly events: DtlsServerSessionEvent[];
}

function startServer(platform: Platform, engine: DtlsEngine, hub: Hub, options: Partial<DtlsServerTransportOptions> = {}): Server {
  const received: Server["received"] = [];
  const events: DtlsServerSessionEvent[] = [];
  const transport = new DtlsServerTransport({
    engine,
    time: platform.time,
    inner: hub.port(SERVER),
    pskLookup: lookupOf(IDENTITY, KEY),
    onSessionEvent: (event) => events.push(event),
    ...FAST,
    ...options,
  });
  transport.listen((data, peer) => {
    received.push({ text: String.fromCharCode(...data), peer: peerKey(peer) });
    transport.send(text(`echo ${String.fromCharCode(...data)}`), peer);
  });
  return { transport, received, events };
}

interface Client {
  readonly transport: DtlsTransport;
  readonly inner: HubPort;
  readonly received: string[];
  readonly errors: DtlsError[];
}

function startClient(platform: Platform, engine: DtlsEngine, hub: Hub, address: Peer, identity: Uint8Array = IDENTITY): Client {
  const inner = hub.port(address);
  const received: string[] = [];
  const errors: DtlsError[] = [];
  const transport = new DtlsTransport({ engine, time: platform.time, inner, credentials: () => ({ identity, key: KEY }), ...FAST });
  transport.listen((data) => received.push(String.fromCharCode(...data)), (error) => {
    if (isDtlsError(error)) errors.push(error);
  });
  return { transport, inner, received, errors };
}

const clientAt = (n: number): Peer => ({ address: `10.0.0.${n + 10}`, port: 40000 + n });

export default suite("dtls-server", (test) => {
  test("many clients each get their own session; plaintext goes up with the client's address, replies go back", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const baseline = engine.liveSessions();
    const hub = new Hub();
    const server = startServer(platform, engine, hub);
    const clients = [0, 1, 2].map((n) => startClient(platform, engine, hub, clientAt(n)));
    clients.forEach((client, n) => client.transport.send(text(`hello ${n}`), SERVER));
    await waitFor(platform, () => clients.every((client) => client.received.length === 1), 5000, "every client's echo");
    clients.forEach((client, n) => assert.equal(client.received[0], `echo hello ${n}`));
    assert.equal(server.received.map((r) => r.peer).sort(), [0, 1, 2].map((n) => peerKey(clientAt(n))));
    assert.equal(server.transport.sessionCounts, { open: 3, handshaking: 0 });
    assert.equal(server.transport.identityOf(clientAt(1)), "dev1");
    assert.equal(server.events.filter((e) => e.type === "connected").length, 3);
    for (const client of clients) client.transport.close();
    server.transport.close();
    assert.equal(engine.liveSessions(), baseline);
  });

  test("a client's first ClientHello is answered with a HelloVerifyRequest cookie, and nothing else starts a session", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const hub = new Hub();
    const server = startServer(platform, engine, hub);
    // An application record from an address with no session: dropped, no session made.
    hub.port(clientAt(9)).send(new Uint8Array([23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]), SERVER);
    const client = startClient(platform, engine, hub, clientAt(0));
    client.transport.send(text("hi"), SERVER);
    await waitFor(platform, () => client.received.length === 1, 5000, "the echo");
    assert.equal(server.transport.droppedDatagrams, 1);
    const first = hub.fromServer[0]!;
    assert.ok(!isClientHello(first));
    // Handshake record (22), handshake type hello_verify_request (3).
    assert.equal([first[0], first[13]], [22, 3]);
    assert.equal(client.transport.stats(SERVER)!.flightsSent, 3, "ClientHello, ClientHello with the cookie, key exchange + Finished");
    client.transport.close();
    server.transport.close();
  });

  test("an unknown identity is refused: the client gets a typed error, the server logs it and keeps no session", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const hub = new Hub();
    const server = startServer(platform, engine, hub);
    const stranger = startClient(platform, engine, hub, clientAt(0), text("nobody"));
    stranger.transport.send(text("let me in"), SERVER);
    await waitFor(platform, () => stranger.errors.length > 0 && server.events.length > 0, 5000, "both ends to give up");
    assert.equal(stranger.errors[0]!.reason, "fatal-alert");
    assert.equal(stranger.errors[0]!.code, "secure-connection");
    assert.equal(server.events[0], { type: "ended", peer: clientAt(0), identity: "nobody", reason: "handshake-failed" });
    assert.equal(server.received.length, 0);
    assert.equal(server.transport.sessionCounts, { open: 0, handshaking: 0 });
    assert.throws(() => server.transport.send(text("x"), clientAt(0)), "secure-connection");
    stranger.transport.close();
    server.transport.close();
  });

  test("beyond maxSessions the least recently active session is closed with close_notify", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const hub = new Hub();
    const server = startServer(platform, engine, hub, { maxSessions: 2 });
    const clients = [0, 1, 2].map((n) => startClient(platform, engine, hub, clientAt(n)));
    for (const [n, client] of clients.entries()) {
      client.transport.send(text(`hello ${n}`), SERVER);
      await waitFor(platform, () => client.received.length === 1, 5000, `client ${n}'s echo`);
    }
    await waitFor(platform, () => clients[0]!.errors.length > 0, 2000, "the first client to hear the close");
    assert.equal(clients[0]!.errors[0]!.reason, "peer-closed");
    assert.equal(server.transport.sessionCounts, { open: 2, handshaking: 0 });
    assert.equal(server.transport.isOpen(clientAt(0)), false);
    assert.ok(server.events.some((e) => e.type === "ended" && e.reason === "evicted" && peerKey(e.peer) === peerKey(clientAt(0))));
    // The evicted client connects again on its next message.
    clients[0]!.transport.send(text("again"), SERVER);
    await waitFor(platform, () => clients[0]!.received.length === 2, 5000, "the first client's second echo");
    assert.equal(server.transport.sessionCounts.open, 2);
    for (const client of clients) client.transport.close();
    server.transport.close();
  });

  test("more clients handshaking at once than maxHandshakes: the excess ClientHellos wait for room, and every client connects", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const hub = new Hub();
    const server = startServer(platform, engine, hub, { maxHandshakes: 2 });
    const clients = [0, 1, 2, 3, 4].map((n) => startClient(platform, engine, hub, clientAt(n)));
    clients.forEach((client, n) => client.transport.send(text(`hello ${n}`), SERVER));
    await waitFor(platform, () => clients.every((client) => client.received.length === 1), 10000, "every client's echo");
    assert.equal(server.transport.sessionCounts, { open: 5, handshaking: 0 });
    assert.ok(server.transport.droppedDatagrams > 0, "some ClientHellos were dropped while the table was full");
    assert.equal(clients.map((client) => client.errors.length), [0, 0, 0, 0, 0]);
    for (const client of clients) client.transport.close();
    server.transport.close();
  });

  test("a client that restarts (a new handshake from the same address) replaces its old session", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const baseline = engine.liveSessions();
    const hub = new Hub();
    const server = startServer(platform, engine, hub);
    const before = startClient(platform, engine, hub, clientAt(0));
    before.transport.send(text("one"), SERVER);
    await waitFor(platform, () => before.received.length === 1, 5000, "the first echo");
    // The device reboots: its old session is gone on its side, without a close_notify.
    before.inner.detached = true;
    const after = startClient(platform, engine, hub, clientAt(0));
    after.transport.send(text("two"), SERVER);
    await waitFor(platform, () => after.received.length === 1, 5000, "the echo after the restart");
    assert.equal(after.received[0], "echo two");
    assert.ok(server.events.some((e) => e.type === "ended" && e.reason === "session-lost"), "the old session ends as lost");
    assert.equal(server.transport.sessionCounts, { open: 1, handshaking: 0 });
    before.transport.close();
    after.transport.close();
    server.transport.close();
    assert.equal(engine.liveSessions(), baseline);
  });

  test("close_notify both ways: a client's close ends its server session; the server's close reaches every client", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const hub = new Hub();
    const server = startServer(platform, engine, hub);
    const clients = [0, 1].map((n) => startClient(platform, engine, hub, clientAt(n)));
    clients.forEach((client) => client.transport.send(text("hi"), SERVER));
    await waitFor(platform, () => clients.every((client) => client.received.length === 1), 5000, "both echoes");
    clients[0]!.transport.closePeer(SERVER);
    await waitFor(platform, () => !server.transport.isOpen(clientAt(0)), 2000, "the server to see the close");
    assert.ok(server.events.some((e) => e.type === "ended" && e.reason === "peer-closed"));
    server.transport.close();
    await waitFor(platform, () => clients[1]!.errors.length > 0, 2000, "the other client to hear the close");
    assert.equal(clients[1]!.errors[0]!.reason, "peer-closed");
    for (const client of clients) client.transport.close();
  });
});
