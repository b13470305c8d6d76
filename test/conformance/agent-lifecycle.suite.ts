import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import type { Platform } from "../../hal/platform.js";
import { AgentTiny } from "../../modules/agent/agent.js";
import { AgentCode, AgentEvent } from "../../modules/agent/constants.js";
import { decodeMessage } from "../../modules/coap/codec.js";
import { Method, ResponseCode } from "../../modules/coap/constants.js";
import { getUriPath } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";
import { hooks } from "./agent-helpers.js";
import { FAST } from "./coap-helpers.js";
import { assert, suite, waitFor } from "./harness.js";
import { openTestServer, type TestServer } from "./lwm2m-helpers.js";

function bindAgent(platform: Platform, server: TestServer, net = platform.net): { agent: AgentTiny; events: number[]; lifecycle: LifecycleEvent[] } {
  const agent = AgentTiny.init({ server: { binding: "U", lifetime: 60 }, iotServer: { uri: `coap://127.0.0.1:${server.endpoint.localPort}` } }, platform, {
    coap: FAST,
    transport: new UdpTransport(net),
    onLifecycle: (event) => void lifecycle.push(event),
  });
  const events: number[] = [];
  const lifecycle: LifecycleEvent[] = [];
  agent.bind({ endpointName: "lifecycle-dev", manufacturer: "Moddable Example" }, hooks([]), (event) => void events.push(event));
  return { agent, events, lifecycle };
}

export default suite("Agent lifecycle", (test) => {
  test("reconnect() registers again at once after a halting error (4.03)", async ({ platform }) => {
    const server = await openTestServer(platform);
    server.registerCode = ResponseCode.Forbidden;
    const { agent, events, lifecycle } = bindAgent(platform, server);
    try {
      await waitFor(platform, () => lifecycle.some((event) => event.type === "error" && !event.temporary), 2000, "the halting error");
      assert.ok(events.indexOf(AgentEvent.RegFail) >= 0, "REG_FAIL");
      server.registerCode = ResponseCode.Created;
      agent.reconnect();
      await waitFor(platform, () => server.registrations.length === 1, 2000, "a fresh Register");
      await waitFor(platform, () => events.indexOf(AgentEvent.RegOk) >= 0, 1000, "REG_OK");
    } finally {
      await new Promise<void>((resolve) => agent.deinit(resolve));
      server.close();
    }
  });

  test("reconnect() registers again at once during a back-off; a 5.03 is a temporary error named server-busy", async ({ platform }) => {
    const server = await openTestServer(platform);
    server.registerCode = ResponseCode.ServiceUnavailable;
    const { agent, events, lifecycle } = bindAgent(platform, server);
    try {
      await waitFor(platform, () => lifecycle.some((event) => event.type === "error" && event.temporary), 2000, "a temporary error");
      const retry = lifecycle.find((event) => event.type === "error")!;
      assert.ok(retry.type === "error" && (retry.retryInMs ?? 0) >= 1500, "a back-off of seconds");
      assert.equal(retry.type === "error" ? retry.reason : undefined, "server-busy", "5.03 is named, not \"unknown\"");
      server.registerCode = ResponseCode.Created;
      agent.reconnect();
      await waitFor(platform, () => events.indexOf(AgentEvent.RegOk) >= 0, 1000, "REG_OK before the back-off ends");
      assert.equal(server.registrations.length, 1);
    } finally {
      await new Promise<void>((resolve) => agent.deinit(resolve));
      server.close();
    }
  });

  test("reconnect({ register: true }) sends a Register, not an Update, while registered (the network came back on another address)", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { agent, events } = bindAgent(platform, server);
    try {
      await waitFor(platform, () => events.indexOf(AgentEvent.RegOk) >= 0, 2000, "REG_OK");
      const updates = server.updates.length;
      agent.reconnect({ register: true });
      await waitFor(platform, () => server.registrations.length === 2, 2000, "a second Register");
      assert.equal(server.updates.length, updates, "no Update");
    } finally {
      await new Promise<void>((resolve) => agent.deinit(resolve));
      server.close();
    }
  });

  test("dataChange() during a Registration Update is accepted", async ({ platform }) => {
    const server = await openTestServer(platform);
    let answer: AgentCode | undefined;
    let agent: AgentTiny | undefined;
    const watching = new FaultyNet(platform.net, platform.time, {
      direction: "send",
      drop: (datagram) => {
        const decoded = decodeMessage(datagram);
        if (answer === undefined && decoded.ok && decoded.message.code === Method.POST && getUriPath(decoded.message).length === 2) {
          // The Update is on its way: the client is "updating" now.
          answer = agent!.dataChange("/3/0/9");
        }
        return false;
      },
    });
    const bound = bindAgent(platform, server, watching);
    agent = bound.agent;
    try {
      await waitFor(platform, () => bound.events.indexOf(AgentEvent.RegOk) >= 0, 2000, "REG_OK");
      agent.reconnect();
      await waitFor(platform, () => answer !== undefined, 1000, "the Update");
      assert.equal(answer, AgentCode.Ok);
    } finally {
      await new Promise<void>((resolve) => agent!.deinit(resolve));
      server.close();
    }
  });

  test("a DM server cannot delete the agent's own instances (/19/0, /19/1, /5/0): 4.05", async ({ platform }) => {
    const server = await openTestServer(platform);
    const { agent, events } = bindAgent(platform, server);
    try {
      await waitFor(platform, () => events.indexOf(AgentEvent.RegOk) >= 0, 2000, "REG_OK");
      for (const path of ["/19/0", "/19/1", "/5/0"]) assert.equal((await server.request({ method: Method.DELETE, path })).code, ResponseCode.MethodNotAllowed, path);
      assert.equal((await server.request({ method: Method.GET, path: "/19/0/0" })).code, ResponseCode.Content, "the uplink instance is still there");
    } finally {
      await new Promise<void>((resolve) => agent.deinit(resolve));
      server.close();
    }
  });
});
