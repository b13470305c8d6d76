import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import type { Platform } from "../../hal/platform.js";
import { AgentTiny } from "../../modules/agent/agent.js";
import { AgentEvent } from "../../modules/agent/constants.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { utf8Decode, type Peer } from "../../modules/coap/message.js";
import { UdpTransport, type CoapTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient, type LwM2mClientOptions } from "../../modules/lwm2m/client.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ResourceEntry } from "../../modules/lwm2m/model/values.js";
import { SecurityMode, SecurityResource } from "../../modules/lwm2m/objects/security.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";
import { hooks } from "./agent-helpers.js";
import { FAST } from "./coap-helpers.js";
import { engineOf, IDENTITY, KEY, text } from "./dtls-helpers.js";
import { assert, bound, suite, waitFor } from "./harness.js";
import { openTestServer, stopClient, type TestServer } from "./lwm2m-helpers.js";
import { FAST_HANDSHAKE, PskServerTransport } from "./lwm2m-dtls-helpers.js";

const WRONG_KEY = new Uint8Array(16).fill(7);
const PSK = Object.freeze({ identity: IDENTITY, key: KEY });

interface DtlsServer {
  readonly server: TestServer;
  readonly dtls: PskServerTransport;
  readonly uri: string;
}

async function openDtlsServer(platform: Platform, identity: Uint8Array = IDENTITY, key: Uint8Array = KEY): Promise<DtlsServer> {
  const dtls = new PskServerTransport(platform, platform.dtls!, identity, key);
  const server = await openTestServer(platform, 0, dtls);
  return { server, dtls, uri: `coaps://127.0.0.1:${dtls.localPort}` };
}

interface Client {
  readonly client: LwM2mClient;
  readonly events: LifecycleEvent[];
}

function startClient(platform: Platform, overrides: Partial<LwM2mClientOptions> & { transport?: CoapTransport }): Promise<Client> {
  const events: LifecycleEvent[] = [];
  const transport = overrides.transport ?? new UdpTransport(platform.net);
  const client = new LwM2mClient({
    endpointName: "dtls-client",
    time: platform.time,
    random: platform.random,
    coap: FAST,
    store: createStandardStore(),
    ...(platform.dtls ? { dtls: { engine: platform.dtls, ...FAST_HANDSHAKE } } : {}),
    ...overrides,
    transport,
    onEvent: (event) => void events.push(event),
  });
  return bound(platform, transport).then(() => {
    client.start();
    return { client, events };
  });
}

/** Security and Server instances of one account, as a bootstrap server writes them. */
function accountWrites(instanceId: number, uri: string, mode: number, identity: Uint8Array, key: Uint8Array, ssid: number): { path: string; payload: Uint8Array }[] {
  const at = (resourceId: number) => ({ objectId: 0, instanceId, resourceId });
  const security: ResourceEntry[] = [
    { path: at(SecurityResource.ServerUri), value: uri, type: "string" },
    { path: at(SecurityResource.BootstrapServer), value: false, type: "boolean" },
    { path: at(SecurityResource.SecurityMode), value: mode, type: "integer" },
    { path: at(SecurityResource.PublicKeyOrIdentity), value: identity, type: "opaque" },
    { path: at(SecurityResource.SecretKey), value: key, type: "opaque" },
    { path: at(SecurityResource.ShortServerId), value: ssid, type: "integer" },
  ];
  const server: ResourceEntry[] = [
    { path: { objectId: 1, instanceId, resourceId: 0 }, value: ssid, type: "integer" },
    { path: { objectId: 1, instanceId, resourceId: 1 }, value: 60, type: "integer" },
    { path: { objectId: 1, instanceId, resourceId: 7 }, value: "U", type: "string" },
  ];
  return [
    { path: `/0/${instanceId}`, payload: encodeTlv({ objectId: 0, instanceId }, security, new Set()) },
    { path: `/1/${instanceId}`, payload: encodeTlv({ objectId: 1, instanceId }, server, new Set()) },
  ];
}

/** A bootstrap server that, on Bootstrap-Request, writes the accounts and sends Finish; `finishes` holds each Finish answer (code and text). */
function serveBootstrap(bs: TestServer, writes: { path: string; payload: Uint8Array }[]): string[] {
  const finishes: string[] = [];
  bs.endpoint.setHandler((exchange) => {
    const peer: Peer = exchange.request.peer;
    exchange.respond({ code: ResponseCode.Changed });
    void (async () => {
      for (const write of writes) await bs.endpoint.requestAsync({ peer, method: Method.PUT, path: write.path, contentFormat: ContentFormat.LwM2mTlv, payload: write.payload });
      const finish = await bs.endpoint.requestAsync({ peer, method: Method.POST, path: "/bs" });
      finishes.push(`${finish.code} ${utf8Decode(finish.payload)}`);
    })().catch((error) => finishes.push(`failed ${String(error)}`));
  });
  return finishes;
}

export default suite("LwM2M over DTLS", (test) => {
  test("a coaps:// account needs a PSK, and a build with DTLS", ({ platform }) => {
    const base = { endpointName: "refused", transport: new UdpTransport(platform.net), time: platform.time, random: platform.random };
    assert.throws(() => new LwM2mClient({ ...base, servers: [{ uri: "coaps://127.0.0.1:5684" }] }), "give a PSK identity and key");
    assert.throws(() => new LwM2mClient({ ...base, servers: [{ uri: "coap://127.0.0.1:5683", psk: PSK }] }), "use coaps://");
    assert.throws(() => new LwM2mClient({ ...base, servers: [{ uri: "coaps://127.0.0.1:5684", psk: PSK }] }), "this build has no DTLS");
    assert.throws(() => new LwM2mClient({ ...base, bootstrap: { uri: "coaps://127.0.0.1:5784", psk: PSK, mode: "client-initiated" } }), "this build has no DTLS");
    let caught: unknown;
    try {
      AgentTiny.init({ server: { binding: "U" }, iotServer: { uri: "coaps://127.0.0.1", pskId: "dev1", psk: KEY } }, { ...platform, dtls: undefined });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof Error && caught.message.indexOf("this build has no DTLS") >= 0, String(caught));
  });

  test("Bootstrap-Finish refuses accounts whose scheme and security mode disagree, or whose mode is not PSK or NoSec (4.06 with the reason)", async ({ platform }) => {
    const cases: [string, number, string][] = [
      ["coap://127.0.0.1:5683", SecurityMode.PreSharedKey, "PSK mode but its URI is coap://"],
      ["coaps://127.0.0.1:5684", SecurityMode.NoSec, "NoSec mode but its URI is coaps://"],
      ["coaps://127.0.0.1:5684", SecurityMode.RawPublicKey, "security mode 1 (Raw Public Key)"],
      ["coaps://127.0.0.1:5684", SecurityMode.PreSharedKey, platform.dtls ? "never" : "this build has no DTLS"],
    ];
    for (const [uri, mode, reason] of cases) {
      if (reason === "never") continue;
      const bs = await openTestServer(platform);
      const finishes = serveBootstrap(bs, accountWrites(1, uri, mode, IDENTITY, KEY, 9));
      const { client } = await startClient(platform, {
        bootstrap: { uri: `coap://127.0.0.1:${bs.endpoint.localPort}`, mode: "client-initiated", finishTimeoutMs: 5000 },
        settings: new MemorySettingsStore(),
      });
      try {
        await waitFor(platform, () => finishes.length > 0, 3000, "Bootstrap-Finish");
        assert.ok(finishes[0]!.startsWith(`${ResponseCode.NotAcceptable} /0/1`) && finishes[0]!.indexOf(reason) >= 0, `${uri} mode ${mode}: ${finishes[0]}`);
      } finally {
        await stopClient(platform, client);
        bs.close();
      }
    }
  });

  test("a PSK account registers over DTLS; the server reads over the session; deregistration ends it with close_notify", async ({ platform }) => {
    const engine = engineOf(platform);
    if (!engine) return;
    const liveBefore = engine.liveSessions();
    const dm = await openDtlsServer(platform);
    const { client, events } = await startClient(platform, { servers: [{ uri: dm.uri, psk: PSK, lifetime: 60 }] });
    try {
      await waitFor(platform, () => client.registrationState() === "registered", 5000, "registration over DTLS");
      assert.equal(dm.server.registrations.length, 1);
      assert.equal(dm.dtls.handshakes.length, 1);
      assert.ok(dm.server.registrations[0]!.query.indexOf("ep=dtls-client") >= 0);
      const read = await dm.server.request({ method: Method.GET, path: "/1/0/1" });
      assert.equal([read.code, utf8Decode(read.payload)], [ResponseCode.Content, "60"]);
      const stats = client.secureSessionStats()!;
      assert.ok(stats.suite !== 0 && stats.resumed === false, "a full handshake");
      assert.equal(events.filter((event) => event.type === "error"), []);
    } finally {
      await stopClient(platform, client);
    }
    await waitFor(platform, () => dm.dtls.errors.some((error) => error.reason === "peer-closed"), 2000, "close_notify at the server");
    assert.equal(dm.server.deregistrations.length, 1, "deregistered before the session closed");
    dm.server.close();
    assert.equal(engine.liveSessions(), liveBefore, "every session's C memory freed");
  });

  for (const [what, psk] of [["a wrong key", { identity: IDENTITY, key: WRONG_KEY }], ["an unknown identity", { identity: text("nobody"), key: KEY }]] as const) {
  test(`${what} is a temporary secure-connection error, retried with back-off, never a registration`, async ({ platform }) => {
    if (!engineOf(platform)) return;
    const dm = await openDtlsServer(platform);
    const { client, events } = await startClient(platform, { servers: [{ uri: dm.uri, psk, lifetime: 60 }] });
    try {
      await waitFor(platform, () => events.filter((event) => event.type === "error").length >= 2, 8000, "two failed attempts");
      for (const event of events) {
        assert.ok(event.type === "error" && event.reason === "secure-connection" && event.temporary, JSON.stringify(event));
        if (event.type === "error") assert.ok(/(fatal-alert|handshake-timeout|handshake-failed): /.test(event.message), event.message);
        if (event.type === "error") assert.equal(event.message.indexOf("0707"), -1, "no key bytes in the message");
      }
      assert.equal(dm.server.registrations.length, 0);
      assert.equal(client.registrationState(), "waiting");
    } finally {
      await stopClient(platform, client);
      dm.server.close();
    }
  });
  }

  test("dropped handshake flights are retransmitted and the registration goes through", async ({ platform }) => {
    if (!engineOf(platform)) return;
    const dm = await openDtlsServer(platform);
    let dropped = 0;
    // The client's first two handshake records (content type 22) are lost on the way out.
    const lossy = new FaultyNet(platform.net, platform.time, { direction: "send", drop: (datagram) => datagram[0] === 22 && dropped++ < 2 });
    const { client, events } = await startClient(platform, { servers: [{ uri: dm.uri, psk: PSK, lifetime: 60 }], transport: new UdpTransport(lossy) });
    try {
      await waitFor(platform, () => client.registrationState() === "registered", 5000, "registration over DTLS");
      assert.equal(dropped >= 2, true);
      assert.ok(client.secureSessionStats()!.retransmissions >= 2, `retransmissions ${client.secureSessionStats()!.retransmissions}`);
      assert.equal(dm.server.registrations.length, 1);
      assert.equal(events.filter((event) => event.type === "error"), []);
    } finally {
      await stopClient(platform, client);
      dm.server.close();
    }
  });

  test("a server that restarts mid-session loses the client's session: the Update times out, and a new handshake registers again", async ({ platform }) => {
    if (!engineOf(platform)) return;
    const dm = await openDtlsServer(platform);
    const { client } = await startClient(platform, { servers: [{ uri: dm.uri, psk: PSK, lifetime: 60 }] });
    try {
      await waitFor(platform, () => client.registrationState() === "registered", 5000, "registration over DTLS");
      dm.dtls.restart();
      client.updateRegistration();
      await waitFor(platform, () => dm.server.registrations.length === 2 && client.registrationState() === "registered", 8000, "a new registration");
      assert.equal(dm.dtls.handshakes.length, 2, "a second handshake");
      assert.equal(dm.server.updates.length, 0, "the Update over the lost session never arrived");
    } finally {
      await stopClient(platform, client);
      dm.server.close();
    }
  });

  test("a session the server closed is resumed on the next exchange (abbreviated handshake: fewer server flights)", async ({ platform }) => {
    if (!engineOf(platform)) return;
    const dm = await openDtlsServer(platform);
    const { client } = await startClient(platform, { servers: [{ uri: dm.uri, psk: PSK, lifetime: 60 }] });
    try {
      await waitFor(platform, () => client.registrationState() === "registered", 5000, "registration over DTLS");
      dm.dtls.closePeer(dm.server.clientPeer!);
      await waitFor(platform, () => client.secureSessionState() === undefined, 2000, "the client to see the close");
      assert.equal(client.secureSessionStats()!.resumable, true, "the closed session is kept for resumption");
      client.updateRegistration();
      await waitFor(platform, () => dm.server.updates.length === 1, 5000, "the Update over a new session");
      assert.equal(dm.dtls.handshakes.length, 2);
      const [full, resumed] = dm.dtls.handshakes;
      assert.equal([full!.resumed, full!.flightsSent], [false, 3]);
      assert.equal([resumed!.resumed, resumed!.flightsSent], [true, 2]);
      assert.equal(client.secureSessionStats()!.resumed, true);
      assert.equal(dm.server.registrations.length, 1, "still the same registration");
    } finally {
      await stopClient(platform, client);
      dm.server.close();
    }
  });

  test("a bootstrap server reached over DTLS provisions a PSK account, which then registers over DTLS", async ({ platform }) => {
    if (!engineOf(platform)) return;
    const dmIdentity = text("dm-device");
    const dmKey = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6);
    const bs = await openDtlsServer(platform);
    const dm = await openDtlsServer(platform, dmIdentity, dmKey);
    const finishes = serveBootstrap(bs.server, accountWrites(1, dm.uri, SecurityMode.PreSharedKey, dmIdentity, dmKey, 5));
    const { client, events } = await startClient(platform, { bootstrap: { uri: bs.uri, psk: PSK, mode: "client-initiated" }, settings: new MemorySettingsStore() });
    try {
      await waitFor(platform, () => client.registrationState(5) === "registered", 5000, "registration with the bootstrapped server");
      assert.equal(finishes, [`${ResponseCode.Changed} `]);
      assert.equal([bs.dtls.handshakes.length, dm.dtls.handshakes.length], [1, 1]);
      assert.ok(events.some((event) => event.type === "bootstrapped"));
      await waitFor(platform, () => bs.dtls.errors.some((error) => error.reason === "peer-closed"), 2000, "close_notify to the bootstrap server");
    } finally {
      await stopClient(platform, client);
      bs.server.close();
      dm.server.close();
    }
  });

  test("the agent with a coaps:// server and a PSK registers over DTLS", async ({ platform }) => {
    if (!engineOf(platform)) return;
    const dm = await openDtlsServer(platform);
    const agentEvents: number[] = [];
    const agent = AgentTiny.init({ server: { binding: "U", lifetime: 60 }, iotServer: { uri: dm.uri, pskId: "dev1", psk: KEY } }, platform, { coap: FAST, dtls: FAST_HANDSHAKE });
    agent.bind({ endpointName: "agent-dtls", manufacturer: "Moddable Example" }, hooks([]), (event) => void agentEvents.push(event));
    try {
      await waitFor(platform, () => agentEvents.indexOf(AgentEvent.RegOk) >= 0, 5000, "REG_OK");
      assert.equal(dm.dtls.handshakes.length, 1, "the identity \"dev1\" went as UTF-8 bytes and the key as given");
    } finally {
      await new Promise<void>((resolve) => agent.deinit(resolve));
      dm.server.close();
    }
  });
});
