import { DtlsError } from "../../modules/dtls/errors.js";
import { DTLS_SUITES, type DtlsSuite } from "../../modules/dtls/session.js";
import { assert, suite, waitFor } from "./harness.js";
import { engineOf, IDENTITY, KEY, lookupOf, pipe, text } from "./dtls-helpers.js";

const FAST = Object.freeze({ handshakeMinMs: 100, handshakeMaxMs: 400 });
const WRONG_KEY = new Uint8Array(16).fill(7);

export default suite("dtls", (test) => {
  for (const name of ["TLS_PSK_WITH_AES_128_CCM_8", "TLS_PSK_WITH_AES_128_CBC_SHA256"] as DtlsSuite[]) {
    test(`client and server complete a PSK handshake with ${name} and exchange data both ways`, async ({ platform }) => {
      const engine = engineOf(platform);
      if (!engine) return;
      const { client, server } = pipe(platform, engine, { identity: IDENTITY, key: KEY, suites: [name] }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("127.0.0.1:5684") });
      server.session.start();
      client.session.start();
      await waitFor(platform, () => client.connected && server.connected, 5000, "both ends to connect");
      assert.equal(client.session.stats().suite, DTLS_SUITES[name]);
      assert.equal(server.session.stats().suite, DTLS_SUITES[name]);
      client.session.write(text("ping"));
      await waitFor(platform, () => server.received.length === 1, 2000, "the server to read");
      server.session.write(text("pong"));
      await waitFor(platform, () => client.received.length === 1, 2000, "the client to read");
      assert.equal(server.received[0], text("ping"));
      assert.equal(client.received[0], text("pong"));
      // A full handshake with a cookie: ClientHello, ClientHello + cookie, ClientKeyExchange + Finished.
      assert.equal(client.session.stats().flightsSent, 3);
      assert.equal(client.session.stats().resumed, false);
      client.session.close();
      server.session.close();
      assert.equal([client.errors.length, server.errors.length], [0, 0]);
    });
  }

  test("a record overhead is fixed per suite, and too large a plaintext is refused", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const { client, server } = pipe(platform, engine, { identity: IDENTITY, key: KEY, mtu: 600 }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p") });
    server.session.start();
    client.session.start();
    await waitFor(platform, () => client.connected && server.connected, 5000, "both ends to connect");
    const before = client.session.stats().bytesSent;
    client.session.write(new Uint8Array(100));
    // CCM_8: 13-byte record header, 8-byte explicit nonce, 8-byte tag.
    assert.equal(client.session.stats().bytesSent - before, 100 + 29);
    const max = client.session.stats().maxPlaintext;
    assert.ok(max > 0 && max <= 600 - 29, `maxPlaintext ${max}`);
    assert.throws(() => client.session.write(new Uint8Array(max + 1)), "secure-connection");
    client.session.close();
    server.session.close();
  });

  test("a reconnect offering the earlier session resumes it (abbreviated handshake)", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const server = { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("127.0.0.1:1") };
    const first = pipe(platform, engine, { identity: IDENTITY, key: KEY }, server);
    first.server.session.start();
    first.client.session.start();
    await waitFor(platform, () => first.client.connected && first.server.connected, 5000, "the first connection");
    first.client.session.close();
    first.server.session.close();
    assert.ok(first.client.session.stats().resumable, "the client keeps its session for resumption");
    const second = pipe(platform, engine, { identity: IDENTITY, key: KEY, resumeFrom: first.client.session }, server);
    second.server.session.start();
    second.client.session.start();
    await waitFor(platform, () => second.client.connected && second.server.connected, 5000, "the second connection");
    assert.equal([second.client.session.stats().resumed, second.server.session.stats().resumed], [true, true]);
    // Resumed: the server speaks Finished first, so its flights drop from 3 to 2 (HelloVerifyRequest, ServerHello..Finished).
    assert.equal(first.server.session.stats().flightsSent, 3);
    assert.equal(second.server.session.stats().flightsSent, 2);
    assert.ok(second.server.session.stats().handshakeBytesSent < first.server.session.stats().handshakeBytesSent, "fewer bytes from the server");
    second.client.session.close();
    second.server.session.close();
    first.client.session.forgetResumption();
  });

  // An mbedtls server answers a Finished it cannot verify with an alert the client can read; an
  // OpenSSL server's alert is encrypted and dropped, so that client times out (dtls-interop test).
  test("a wrong key ends in a typed error on the client, without the key in the message", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const { client, server } = pipe(platform, engine, { identity: IDENTITY, key: WRONG_KEY, ...FAST }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p"), ...FAST });
    server.session.start();
    client.session.start();
    await waitFor(platform, () => client.errors.length > 0, 5000, "the client's error");
    const error = client.errors[0]!;
    assert.ok(error instanceof DtlsError);
    assert.ok(error.reason === "fatal-alert" || error.reason === "handshake-timeout", error.reason);
    assert.equal(error.code, "secure-connection");
    assert.equal(client.session.state, "failed");
    assert.equal(error.message.indexOf("0707"), -1);
    server.session.close();
  });

  test("an unknown identity is refused with a fatal alert", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const { client, server } = pipe(platform, engine, { identity: text("nobody"), key: KEY, ...FAST }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p"), ...FAST });
    server.session.start();
    client.session.start();
    await waitFor(platform, () => client.errors.length > 0 && server.errors.length > 0, 5000, "both errors");
    assert.equal(client.errors[0]!.reason, "fatal-alert");
    assert.equal(server.errors[0]!.reason, "handshake-failed");
  });

  test("lost handshake flights are retransmitted", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    let dropped = 0;
    const { client, server } = pipe(platform, engine, { identity: IDENTITY, key: KEY, ...FAST }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p"), ...FAST }, (fromClient) => fromClient && dropped++ < 2);
    server.session.start();
    client.session.start();
    await waitFor(platform, () => client.connected && server.connected, 5000, "both ends to connect");
    assert.equal(client.session.stats().retransmissions, 2);
    client.session.close();
    server.session.close();
  });

  test("close sends close_notify: the peer reports peer-closed", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const { client, server } = pipe(platform, engine, { identity: IDENTITY, key: KEY }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p") });
    server.session.start();
    client.session.start();
    await waitFor(platform, () => client.connected && server.connected, 5000, "both ends to connect");
    client.session.close();
    await waitFor(platform, () => server.errors.length > 0, 2000, "the server to see the close");
    assert.equal(server.errors[0]!.reason, "peer-closed");
    assert.equal(server.session.state, "closed");
    assert.throws(() => client.session.write(text("late")), "secure-connection");
  });

  test("every session's C memory is freed on close, whatever happened", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const baseline = engine.liveSessions();
    const ok = pipe(platform, engine, { identity: IDENTITY, key: KEY }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p") });
    const never = pipe(platform, engine, { identity: IDENTITY, key: KEY }, { pskLookup: lookupOf(IDENTITY, KEY), peerId: text("p") });
    assert.equal(engine.liveSessions(), baseline + 4);
    ok.server.session.start();
    ok.client.session.start();
    await waitFor(platform, () => ok.client.connected && ok.server.connected, 5000, "both ends to connect");
    ok.client.session.close();
    await waitFor(platform, () => ok.server.errors.length > 0, 2000, "the server to see the close");
    never.client.session.close();
    never.server.session.close();
    assert.equal(engine.liveSessions(), baseline);
    ok.client.session.forgetResumption();
  });
});
