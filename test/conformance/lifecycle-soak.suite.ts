import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import { AgentTiny } from "../../modules/agent/agent.js";
import { AgentCode, ReportType, SEND_STATUS_NAMES } from "../../modules/agent/constants.js";
import { utf8Encode } from "../../modules/coap/message.js";
import type { LifecycleEvent } from "../../modules/lwm2m/registration.js";
import { FINAL, hooks } from "./agent-helpers.js";
import { assert, suite } from "./harness.js";
import { dayTime, SoakBootstrapServer, SoakLwm2mServer } from "./soak-servers.js";
import { createVirtualPlatform, VirtualClock, VirtualNetwork, VirtualTime } from "./virtual-platform.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const SOAK_DAYS = 30;
const REPORT_EVERY_MS = 2 * HOUR;
const LIFETIME_S = 6 * 3600;
const SERVER_RESTART_DAYS: readonly number[] = [3, 13, 23];
const BOOTSTRAP_DAYS: readonly number[] = [8, 18];
const OUTAGE_DAY = 15;
const LWM2M_PORT = 5683;
const BOOTSTRAP_PORT = 5783;

/**
 * Acceptance 2 of issue 9: thirty simulated days of one device on a lossy
 * network. The device, in queue mode, reports every two hours; the server
 * restarts three times; a bootstrap with Delete "/" twice re-provisions the
 * device; the application reconnects every five days; a three-hour outage
 * comes on day 15. Then deinit. Every report must end in exactly one final
 * status, and after deinit no timer, socket or event may remain.
 */
export default suite("Lifecycle soak (issue 9)", (test) => {
  test("30 simulated days: registration, Updates, server restarts, bootstraps with Delete /, reconnects, queue-mode sleep, deinit", async () => {
    const clock = new VirtualClock();
    const network = new VirtualNetwork(clock);
    const outage = { on: false };
    const deviceNetView = network.view();
    const lossyNet = new FaultyNet(deviceNetView, new VirtualTime(clock), { loss: 0.05, duplicate: 0.01, reorder: 0.01, delayMs: [0, 20], seed: 9, drop: () => outage.on });
    const device = createVirtualPlatform("soak/device", clock, lossyNet, 1);
    const serverPlatform = createVirtualPlatform("soak/server", clock, network.view(), 2);
    const server = new SoakLwm2mServer(serverPlatform, LWM2M_PORT);
    const bootstrap = new SoakBootstrapServer(serverPlatform, BOOTSTRAP_PORT, { uri: server.uri, shortServerId: 1, lifetime: LIFETIME_S, binding: "UQ" });
    server.open();
    bootstrap.open();

    const agent = AgentTiny.init(
      {
        server: { binding: "UQ", lifetime: LIFETIME_S, storingCount: 8, bootstrapMode: "sequence" },
        iotServer: { uri: server.uri },
        bootstrapServer: { uri: bootstrap.uri },
      },
      device,
      { onLifecycle: (event) => lifecycle.push({ at: clock.nowMs, event }) },
    );
    const lifecycle: { at: number; event: LifecycleEvent }[] = [];
    const agentEvents: number[] = [];
    const statuses = new Map<number, string[]>();
    const accepted: number[] = [];
    const refused: number[] = [];
    agent.bind({ endpointName: "soak-device", manufacturer: "Moddable Example" }, hooks([]), (event) => agentEvents.push(event));

    let cookie = 0;
    const report = () => {
      const id = ++cookie;
      const code = agent.dataReport({
        type: ReportType.AppData,
        cookie: id,
        buf: utf8Encode(`r${id}`),
        callback: (_type, c, status) => {
          if (!statuses.has(c)) statuses.set(c, []);
          statuses.get(c)!.push(SEND_STATUS_NAMES[status]!);
        },
      });
      (code === AgentCode.Ok ? accepted : refused).push(id);
    };

    for (let day = 0; day < SOAK_DAYS; day++) {
      for (let hour = 0; hour < 24; hour += REPORT_EVERY_MS / HOUR) {
        const at = day * DAY + hour * HOUR;
        await clock.advance(at - clock.nowMs);
        if (day === OUTAGE_DAY && hour === 2) outage.on = true;
        if (day === OUTAGE_DAY && hour === 6) outage.on = false;
        if (SERVER_RESTART_DAYS.indexOf(day) >= 0 && hour === 8) server.restart(10 * MINUTE);
        if (BOOTSTRAP_DAYS.indexOf(day) >= 0 && hour === 4) server.onNextContact.push((peer) => void server.execute(peer, "/1/0/9"));
        if (day % 5 === 1 && hour === 12) agent.reconnect();
        report();
      }
    }
    await clock.advance(SOAK_DAYS * DAY - clock.nowMs);

    let deinitDone = false;
    agent.deinit(() => (deinitDone = true));
    const ended = await clock.advanceUntil(() => deinitDone, 10 * MINUTE, SECOND);
    assert.ok(ended, "deinit() finished");
    const afterDeinit = { lifecycle: lifecycle.length, agentEvents: agentEvents.length, statuses: Array.from(statuses.values()).reduce((n, list) => n + list.length, 0), lines: device.lines.length };
    assert.equal(device.time.liveTimers, 0, "no device timer left after deinit");
    assert.equal(deviceNetView.openSockets, 0, "no device socket left after deinit");
    await clock.advance(2 * DAY);
    assert.equal(device.time.liveTimers, 0, "no device timer two days after deinit");
    assert.equal(lifecycle.length, afterDeinit.lifecycle, "no lifecycle event after deinit");
    assert.equal(agentEvents.length, afterDeinit.agentEvents, "no agent event after deinit");
    assert.equal(Array.from(statuses.values()).reduce((n, list) => n + list.length, 0), afterDeinit.statuses, "no report status after deinit");
    assert.equal(device.lines.slice(afterDeinit.lines), [], "no log line after deinit");

    for (const id of accepted) {
      const list = statuses.get(id) ?? [];
      const finals = list.filter((status) => FINAL.indexOf(status) >= 0);
      assert.equal(finals.length, 1, `report ${id} has exactly one final status (${list.join(",")})`);
      assert.equal(list[list.length - 1], finals[0], `report ${id} ends with its final status (${list.join(",")})`);
    }
    for (const id of refused) assert.equal(statuses.get(id), undefined, `refused report ${id} has no status`);

    const succeeded = accepted.filter((id) => statuses.get(id)!.indexOf("SENT_SUCCESS") >= 0);
    for (const id of succeeded) assert.ok(server.received.indexOf(`r${id}`) >= 0, `SENT_SUCCESS report ${id} reached the server`);
    // Sequence mode also falls back to bootstrap when registration fails three times (the restarts, the outage).
    const bootstrapped = lifecycle.filter((entry) => entry.event.type === "bootstrapped").map((entry) => dayTime(entry.at));
    assert.equal(bootstrapped.length, bootstrap.finished, `the client took every finished bootstrap (${bootstrap.steps.join("; ")})`);
    for (const day of BOOTSTRAP_DAYS) assert.ok(bootstrapped.some((when) => when.indexOf(`day ${day} `) === 0), `the bootstrap the server asked for on day ${day} (${bootstrapped.join(", ")})`);
    assert.equal(server.restarts, SERVER_RESTART_DAYS.length);
    assert.ok(server.registrations >= 1 + SERVER_RESTART_DAYS.length + BOOTSTRAP_DAYS.length, `registered again after each restart and bootstrap (${server.registrations})`);
    assert.ok(server.updates >= SOAK_DAYS * 4, `Updates kept the registration alive (${server.updates})`);
    assert.equal(server.deregistrations, 1, "one Deregister, at deinit");
    const sleeps = device.lines.filter((line) => line.indexOf("queue mode: not listening") >= 0).length;
    assert.ok(sleeps >= SOAK_DAYS * 10, `the device slept between reports in queue mode (${sleeps} times)`);
    const lastFiveDays = accepted.filter((id) => id > cookie - 5 * 12);
    assert.equal(lastFiveDays.filter((id) => statuses.get(id)!.indexOf("SENT_SUCCESS") < 0), [], "every report of the last five days reached the server");
    assert.ok(succeeded.length >= cookie * 0.9, `at least 90 % of ${cookie} reports succeeded (${succeeded.length}; ${refused.length} refused as the queue was full)`);
    server.close();
    bootstrap.close();
  });
});
