import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import type { Platform } from "../../hal/platform.js";
import { AgentTiny } from "../../modules/agent/agent.js";
import { ReportType, SEND_STATUS_NAMES } from "../../modules/agent/constants.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import type { CoapEndpoint } from "../../modules/coap/endpoint.js";
import { utf8Decode, utf8Encode, type CoapMessage, type Peer } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { createStandardStore, LwM2mClient } from "../../modules/lwm2m/client.js";
import { encodeTlv } from "../../modules/lwm2m/content/tlv.js";
import type { ResourceEntry } from "../../modules/lwm2m/model/values.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";
import { hooks } from "./agent-helpers.js";
import { FAST, openEndpoint, openRawPeer, peerOf } from "./coap-helpers.js";
import { countingPlatform, type CountingPlatform } from "./counting-platform.js";
import { assert, bound, sleep, suite, waitFor } from "./harness.js";
import { openTestServer, stopClient } from "./lwm2m-helpers.js";

interface Account {
  readonly uri: string;
  readonly ssid: number;
  readonly instanceId?: number;
  /** Bytes of /0/x/3 (identity) and /0/x/5 (secret key). */
  readonly keyBytes?: number;
}

function accountWrites(account: Account): { path: string; payload: Uint8Array }[] {
  const id = account.instanceId ?? 1;
  const key = new Uint8Array(account.keyBytes ?? 0).fill(0x5a);
  const security: ResourceEntry[] = [
    { path: { objectId: 0, instanceId: id, resourceId: 0 }, value: account.uri, type: "string" },
    { path: { objectId: 0, instanceId: id, resourceId: 1 }, value: false, type: "boolean" },
    { path: { objectId: 0, instanceId: id, resourceId: 2 }, value: 3, type: "integer" },
    { path: { objectId: 0, instanceId: id, resourceId: 3 }, value: key, type: "opaque" },
    { path: { objectId: 0, instanceId: id, resourceId: 5 }, value: key, type: "opaque" },
    { path: { objectId: 0, instanceId: id, resourceId: 10 }, value: account.ssid, type: "integer" },
  ];
  const server: ResourceEntry[] = [
    { path: { objectId: 1, instanceId: id, resourceId: 0 }, value: account.ssid, type: "integer" },
    { path: { objectId: 1, instanceId: id, resourceId: 1 }, value: 60, type: "integer" },
    { path: { objectId: 1, instanceId: id, resourceId: 6 }, value: true, type: "boolean" },
    { path: { objectId: 1, instanceId: id, resourceId: 7 }, value: "U", type: "string" },
  ];
  return [
    { path: `/0/${id}`, payload: encodeTlv({ objectId: 0, instanceId: id }, security, new Set()) },
    { path: `/1/${id}`, payload: encodeTlv({ objectId: 1, instanceId: id }, server, new Set()) },
  ];
}

/** Delete "/", Write /0 and /1 for each account, Finish: what a standard bootstrap server does. Returns the Finish response. */
async function provision(endpoint: CoapEndpoint, peer: Peer, accounts: readonly Account[], log: string[]): Promise<CoapMessage> {
  log.push(`delete ${(await endpoint.requestAsync({ peer, method: Method.DELETE, path: "/" })).code}`);
  for (const account of accounts) {
    for (const write of accountWrites(account)) {
      const response = await endpoint.requestAsync({ peer, method: Method.PUT, path: write.path, contentFormat: ContentFormat.LwM2mTlv, payload: write.payload });
      log.push(`write ${write.path} ${response.code}`);
    }
  }
  const finish = await endpoint.requestAsync({ peer, method: Method.POST, path: "/bs" });
  log.push(`finish ${finish.code} ${utf8Decode(finish.payload)}`);
  return finish;
}

interface BootstrapServer {
  readonly endpoint: CoapEndpoint;
  readonly requests: number;
  readonly log: string[];
  readonly uri: string;
  close(): void;
}

/** A bootstrap server: answers Bootstrap-Request with `answer`, then (on 2.04) provisions `accounts`. */
async function openBootstrapServer(platform: Platform, accounts: readonly Account[], answer: number = ResponseCode.Changed): Promise<BootstrapServer> {
  const endpoint = await openEndpoint(platform);
  const log: string[] = [];
  let requests = 0;
  endpoint.setHandler((exchange) => {
    if (exchange.request.method !== Method.POST || exchange.request.path[0] !== "bs") return exchange.respond({ code: ResponseCode.NotFound });
    requests++;
    exchange.respond({ code: answer });
    if (answer === ResponseCode.Changed) void provision(endpoint, exchange.request.peer, accounts, log).catch((error: Error) => log.push(`failed ${error.message}`));
  });
  return {
    endpoint,
    get requests() {
      return requests;
    },
    log,
    uri: `coap://127.0.0.1:${endpoint.localPort}`,
    close: () => endpoint.close(),
  };
}

interface BootstrappedAgent {
  readonly agent: AgentTiny;
  readonly events: number[];
  readonly lifecycle: LifecycleEvent[];
  readonly statuses: Map<number, string[]>;
  readonly downlink: string[];
  close(): Promise<void>;
}

function bindBootstrapAgent(platform: Platform, bootstrapUri: string, extra: { binding?: "U" | "UQ"; queueIdleMs?: number } = {}): BootstrappedAgent {
  const lifecycle: LifecycleEvent[] = [];
  const agent = AgentTiny.init({ server: { binding: extra.binding ?? "U", lifetime: 60, bootstrapMode: "client-initiated" }, bootstrapServer: { uri: bootstrapUri } }, platform, {
    coap: FAST,
    onLifecycle: (event) => void lifecycle.push(event),
    ...(extra.queueIdleMs !== undefined ? { queueIdleMs: extra.queueIdleMs } : {}),
  });
  const events: number[] = [];
  const downlink: string[] = [];
  agent.bind({ endpointName: "bs-defects-dev", manufacturer: "Moddable Example" }, hooks(downlink), (event) => void events.push(event));
  return { agent, events, lifecycle, statuses: new Map(), downlink, close: () => new Promise<void>((resolve) => agent.deinit(resolve)) };
}

function report(h: BootstrappedAgent, cookie: number, text: string): number {
  return h.agent.dataReport({
    type: ReportType.AppData,
    cookie,
    buf: utf8Encode(text),
    callback: (_type, c, status) => {
      if (!h.statuses.has(c)) h.statuses.set(c, []);
      h.statuses.get(c)!.push(SEND_STATUS_NAMES[status]!);
    },
  });
}

/** After deinit: nothing may remain or happen. Waits a while of real time, then counts. */
async function assertQuiet(platform: Platform, counting: CountingPlatform, h: BootstrappedAgent, waitMs: number): Promise<void> {
  const marks = { events: h.events.length, lifecycle: h.lifecycle.length, log: counting.logLines.length };
  await sleep(platform, waitMs);
  assert.equal(counting.liveTimers, 0, "live timers after deinit");
  assert.equal(counting.openSockets, 0, "open sockets after deinit");
  assert.equal(h.lifecycle.slice(marks.lifecycle).map((event) => event.type), [], "lifecycle events after deinit");
  assert.equal(h.events.slice(marks.events), [], "agent events after deinit");
  assert.equal(counting.logLines.slice(marks.log), [], "log lines after deinit");
}

export default suite("LwM2M bootstrap defects (issue 9)", (test) => {
  test("defect 1: after a bootstrap with Delete \"/\", the agent's own instances exist again with their hooks (Observe /19/0/0, writes to /19/1/0, reports SENT_SUCCESS)", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bs = await openBootstrapServer(platform, [{ uri: `coap://127.0.0.1:${dm.endpoint.localPort}`, ssid: 101 }]);
    const h = bindBootstrapAgent(countingPlatform(platform), bs.uri);
    try {
      await waitFor(platform, () => dm.registrations.length === 1, 5000, "registration with the bootstrapped server");
      assert.equal(bs.log[0], `delete ${ResponseCode.Deleted}`);
      const links = dm.registrations[0]!.links.map((link) => link.target);
      for (const path of ["/19/0", "/19/1", "/5/0", "/3/0", "/4/0", "/6/0"]) assert.ok(links.indexOf(path) >= 0, `${path} registered: ${links.join(",")}`);
      let observed = 0;
      const received: string[] = [];
      dm.endpoint.observe({ peer: dm.clientPeer!, path: "/19/0/0" }, (error, response) => {
        if (error) return;
        if (observed++ === 0) received.push(`code ${response!.code}`);
        else received.push(utf8Decode(response!.payload));
      });
      await waitFor(platform, () => received.length > 0, 2000, "the observe response");
      assert.equal(received[0], `code ${ResponseCode.Content}`, "Observe /19/0/0");
      assert.equal((await dm.request({ method: Method.PUT, path: "/19/1/0/0", contentFormat: ContentFormat.OctetStream, payload: utf8Encode("open valve") })).code, ResponseCode.Changed);
      assert.equal(h.downlink, ["1:open valve"], "the write reached the hook");
      assert.equal((await dm.request({ method: Method.DELETE, path: "/19/0" })).code, ResponseCode.MethodNotAllowed, "/19/0 is still protected");
      assert.equal((await dm.request({ method: Method.GET, path: "/5/0/3" })).code, ResponseCode.Content, "/5/0 exists");
      assert.equal(report(h, 1, "hello"), 0);
      await waitFor(platform, () => (h.statuses.get(1) ?? []).indexOf("SENT_SUCCESS") >= 0, 3000, `SENT_SUCCESS (${(h.statuses.get(1) ?? []).join(",")})`);
      assert.ok(received.indexOf("hello") >= 0, received.join(","));
    } finally {
      await h.close();
      bs.close();
      dm.close();
    }
  });

  test("defect 2: a bootstrapped configuration over 1024 bytes is kept (several settings keys) and restored; one too large is refused at Finish", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const dm2 = await openTestServer(platform);
    // Two accounts with 300-byte identities and keys: the Security object's TLV exceeds one 1024-byte setting.
    const bs = await openBootstrapServer(platform, [
      { uri: `coap://127.0.0.1:${dm.endpoint.localPort}`, ssid: 101, instanceId: 1, keyBytes: 300 },
      { uri: `coap://127.0.0.1:${dm2.endpoint.localPort}`, ssid: 102, instanceId: 2, keyBytes: 300 },
    ]);
    const settings = new MemorySettingsStore();
    const first = bindBootstrapAgent(countingPlatform(platform, settings), bs.uri);
    try {
      await waitFor(platform, () => dm.registrations.length === 1 && dm2.registrations.length === 1, 5000, `registration with the bootstrapped servers (${bs.log.join("; ")})`);
      assert.equal(bs.log.filter((line) => line.startsWith("finish")), [`finish ${ResponseCode.Changed} `]);
      assert.ok(settings.keys().every((key) => key.length <= 15), settings.keys().join(","));
      assert.ok(settings.keys().length > 2, `the configuration spans several keys: ${settings.keys().join(",")}`);
    } finally {
      await first.close();
    }
    const again = bindBootstrapAgent(countingPlatform(platform, settings), bs.uri);
    try {
      await waitFor(platform, () => dm.registrations.length === 2 && dm2.registrations.length === 2, 5000, "registration from the restored configuration");
      assert.equal(bs.requests, 1, "no second Bootstrap-Request");
      const security = again.agent.lwm2m!.store.get(0)!;
      const restored = security.instanceIds().map((id) => security.instance(id)!.get(5)).find((key) => key instanceof Uint8Array && key.length === 300);
      assert.ok(restored, "the 300-byte secret key was restored");
    } finally {
      await again.close();
      bs.close();
    }
    // Eleven accounts with two 400-byte keys each: more than the device keeps; Finish says why, before any 2.04.
    const accounts: Account[] = [];
    for (let i = 0; i < 11; i++) accounts.push({ uri: `coap://127.0.0.1:${dm.endpoint.localPort}`, ssid: 101 + i, instanceId: 1 + i, keyBytes: 400 });
    const big = await openBootstrapServer(platform, accounts);
    const third = bindBootstrapAgent(countingPlatform(platform), big.uri);
    try {
      await waitFor(platform, () => big.log.some((line) => line.startsWith("finish")), 8000, "Bootstrap-Finish");
      const finish = big.log.find((line) => line.startsWith("finish"))!;
      assert.ok(finish.startsWith(`finish ${ResponseCode.NotAcceptable} `) && finish.indexOf("bytes") >= 0, finish);
      assert.equal(dm.registrations.length, 2, "no registration from a configuration that was not kept");
    } finally {
      await third.close();
      big.close();
      dm.close();
      dm2.close();
    }
  });

  test("defect 3: deinit during a Bootstrap-Request (no answer, or errors) ends the retry loop: no event afterwards", async ({ platform }) => {
    const silent = await openRawPeer(platform);
    const counting = countingPlatform(platform);
    const h = bindBootstrapAgent(counting, `coap://127.0.0.1:${peerOf(silent.socket).port}`);
    try {
      await silent.waitFor(1, 2000);
      await h.close();
      await assertQuiet(platform, counting, h, 1500);
    } finally {
      silent.close();
    }
    const refusing = await openBootstrapServer(platform, [], ResponseCode.BadRequest);
    const counting2 = countingPlatform(platform);
    const h2 = bindBootstrapAgent(counting2, refusing.uri);
    try {
      await waitFor(platform, () => h2.lifecycle.some((event) => event.type === "error"), 2000, "the first bootstrap error");
      await h2.close();
      await assertQuiet(platform, counting2, h2, 3000);
    } finally {
      refusing.close();
    }
    // Sequence mode: the factory server never answers, the client falls back to a bootstrap server that never answers either.
    const deadServer = await openRawPeer(platform);
    const deadBootstrap = await openRawPeer(platform);
    const counting3 = countingPlatform(platform);
    const lifecycle: LifecycleEvent[] = [];
    const client = new LwM2mClient({
      endpointName: "bs-defect-3",
      transport: new UdpTransport(counting3.net),
      time: counting3.time,
      random: counting3.random,
      log: counting3.log,
      coap: { ...FAST, ackTimeoutMs: 20, maxRetransmit: 1 },
      store: createStandardStore(),
      settings: counting3.settings,
      servers: [{ uri: `coap://127.0.0.1:${peerOf(deadServer.socket).port}`, lifetime: 60 }],
      bootstrap: { uri: `coap://127.0.0.1:${peerOf(deadBootstrap.socket).port}`, mode: "sequence" },
      bootstrapAfterFailures: 1,
      onEvent: (event) => void lifecycle.push(event),
    });
    client.start();
    try {
      await deadBootstrap.waitFor(1, 3000);
      await stopClient(platform, client);
      await assertQuiet(platform, counting3, { events: [], lifecycle } as unknown as BootstrappedAgent, 1500);
    } finally {
      deadServer.close();
      deadBootstrap.close();
    }
  });

  test("defect 4: outside a bootstrap, Bootstrap-Finish and Bootstrap-Delete get 4.00 and change nothing", async ({ platform }) => {
    const dm = await openTestServer(platform);
    const bs = await openEndpoint(platform);
    bs.setHandler((exchange) => exchange.respond({ code: ResponseCode.NotFound }));
    const transport = new UdpTransport(platform.net);
    const events: LifecycleEvent[] = [];
    const client = new LwM2mClient({
      endpointName: "bs-defect-4",
      transport,
      time: platform.time,
      random: platform.random,
      coap: FAST,
      store: createStandardStore(),
      settings: new MemorySettingsStore(),
      servers: [{ uri: `coap://127.0.0.1:${dm.endpoint.localPort}`, lifetime: 60 }],
      bootstrap: { uri: `coap://127.0.0.1:${bs.localPort}`, mode: "sequence" },
      onEvent: (event) => void events.push(event),
    });
    await bound(platform, transport);
    client.start();
    try {
      await waitFor(platform, () => dm.registrations.length === 1, 3000, "registration");
      const peer = { address: "127.0.0.1", port: client.endpoint.localPort };
      const finish = await bs.requestAsync({ peer, method: Method.POST, path: "/bs" });
      assert.equal(finish.code, ResponseCode.BadRequest, "unsolicited Bootstrap-Finish");
      const removal = await bs.requestAsync({ peer, method: Method.DELETE, path: "/1/0" });
      assert.equal(removal.code, ResponseCode.BadRequest, "unsolicited Bootstrap-Delete");
      const write = await bs.requestAsync({ peer, method: Method.PUT, path: "/1/0", contentFormat: ContentFormat.LwM2mTlv, payload: accountWrites({ uri: "coap://127.0.0.1:1", ssid: 7, instanceId: 0 })[1]!.payload });
      assert.equal(write.code, ResponseCode.BadRequest, "unsolicited Bootstrap-Write");
      assert.ok(client.store.get(1)!.instance(0), "/1/0 still exists");
      assert.equal(client.store.get(1)!.instance(0)!.get(0), 1, "/1/0 unchanged");
      await sleep(platform, 200);
      assert.equal(dm.registrations.length, 1, "no second registration");
      assert.equal(client.registrationState(), "registered");
      assert.ok(!events.some((event) => event.type === "bootstrapped"), "no bootstrapped event");
    } finally {
      await stopClient(platform, client);
      bs.close();
      dm.close();
    }
  });

  test("defect 5: Bootstrap-Finish without a usable account gets 4.06 with the reason; the client then bootstraps again with an error event", async ({ platform }) => {
    const dm = await openTestServer(platform);
    for (const uri of [`coaps://127.0.0.1:${dm.endpoint.localPort}`, "coap://127.0.0.1:99999"]) {
      const bs = await openBootstrapServer(platform, [{ uri, ssid: 101 }]);
      const transport = new UdpTransport(platform.net);
      const events: LifecycleEvent[] = [];
      const client = new LwM2mClient({
        endpointName: "bs-defect-5",
        transport,
        time: platform.time,
        random: platform.random,
        coap: FAST,
        store: createStandardStore(),
        settings: new MemorySettingsStore(),
        bootstrap: { uri: bs.uri, mode: "client-initiated", finishTimeoutMs: 300 },
        onEvent: (event) => void events.push(event),
      });
      await bound(platform, transport);
      client.start();
      try {
        await waitFor(platform, () => bs.log.some((line) => line.startsWith("finish")), 3000, "Bootstrap-Finish");
        const finish = bs.log.find((line) => line.startsWith("finish"))!;
        assert.ok(finish.startsWith(`finish ${ResponseCode.NotAcceptable} /0/1`), `${uri}: ${finish}`);
        await waitFor(platform, () => bs.requests >= 2, 5000, "a new Bootstrap-Request");
        assert.ok(events.some((event) => event.type === "error" && event.shortServerId === 0), "an error event");
        assert.equal(dm.registrations.length, 0);
      } finally {
        await stopClient(platform, client);
        bs.close();
      }
    }
    dm.close();
  });

  test("defect 7: after deinit no timer, socket, event or log line remains (queue mode, bootstrap retry)", async ({ platform }) => {
    // Deinit while the queue-mode client listens (idle timer armed), then while it sleeps.
    for (const awakeFor of [50, 400]) {
      const dm = await openTestServer(platform);
      const counting = countingPlatform(platform);
      const bs = await openBootstrapServer(platform, [{ uri: `coap://127.0.0.1:${dm.endpoint.localPort}`, ssid: 101 }]);
      const queued = bindBootstrapAgent(counting, bs.uri, { binding: "UQ", queueIdleMs: 100 });
      try {
        await waitFor(platform, () => dm.registrations.length === 1, 5000, "registration");
        await sleep(platform, awakeFor);
        await queued.close();
        await assertQuiet(platform, counting, queued, 500);
      } finally {
        bs.close();
        dm.close();
      }
    }
    const refusing = await openBootstrapServer(platform, [], ResponseCode.InternalServerError);
    const counting2 = countingPlatform(platform);
    const retrying = bindBootstrapAgent(counting2, refusing.uri);
    try {
      await waitFor(platform, () => retrying.lifecycle.some((event) => event.type === "error"), 2000, "the bootstrap retry loop");
      await retrying.close();
      await assertQuiet(platform, counting2, retrying, 3000);
    } finally {
      refusing.close();
    }
  });
});
