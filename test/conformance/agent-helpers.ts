import { FaultyNet } from "../../hal/host/faults/faulty-net.js";
import type { Platform } from "../../hal/platform.js";
import { AgentTiny } from "../../modules/agent/agent.js";
import { ReportType, SEND_STATUS_NAMES } from "../../modules/agent/constants.js";
import type { DeviceHooks } from "../../modules/agent/device-hooks.js";
import type { AgentParams } from "../../modules/agent/params.js";
import type { ObserveHandle } from "../../modules/coap/endpoint.js";
import { utf8Decode, utf8Encode } from "../../modules/coap/message.js";
import { UdpTransport } from "../../modules/coap/transport.js";
import { FAST } from "./coap-helpers.js";
import { waitFor } from "./harness.js";
import type { TestServer } from "./lwm2m-helpers.js";

export interface Harness {
  agent: AgentTiny;
  events: number[];
  statuses: Map<number, string[]>;
  downlink: string[];
  report(cookie: number, text: string, type?: ReportType): number;
  close(): Promise<void>;
}

export function hooks(downlink: string[]): DeviceHooks {
  return {
    getModelNumber: () => "XS-1",
    getSerialNumber: () => "SN-42",
    getFirmwareVersion: () => "0.1.0",
    getBatteryLevel: () => 88,
    getMemoryFree: () => 120,
    getCurrentTime: () => 1700000000,
    getNetworkBearer: () => 41,
    getSignalStrength: () => -60,
    getLatitude: () => 52.5,
    getLongitude: () => 13.4,
    writeAppData: (data, instanceId) => void downlink.push(`${instanceId}:${utf8Decode(data)}`),
  };
}

export async function startAgent(platform: Platform, server: TestServer, extra: { storingCount?: number; net?: FaultyNet; binding?: "U" | "UQ"; queueIdleMs?: number } = {}): Promise<Harness> {
  const params: AgentParams = { server: { binding: extra.binding ?? "U", lifetime: 60, storingCount: extra.storingCount ?? 8 }, iotServer: { uri: `coap://127.0.0.1:${server.endpoint.localPort}` } };
  const agent = AgentTiny.init(params, platform, { coap: FAST, ...(extra.net ? { transport: new UdpTransport(extra.net) } : {}), ...(extra.queueIdleMs !== undefined ? { queueIdleMs: extra.queueIdleMs } : {}) });
  const events: number[] = [];
  const statuses = new Map<number, string[]>();
  const downlink: string[] = [];
  agent.bind({ endpointName: "agent-dev", manufacturer: "Moddable Example" }, hooks(downlink), (event) => events.push(event));
  await waitFor(platform, () => server.registrations.length > 0, 5000, "registration");
  return {
    agent,
    events,
    statuses,
    downlink,
    report: (cookie, text, type = ReportType.AppData) =>
      agent.dataReport({ type, cookie, buf: type === ReportType.AppData ? utf8Encode(text) : Uint8Array.of(Number(text)), callback: (_t, c, status) => {
        if (!statuses.has(c)) statuses.set(c, []);
        statuses.get(c)!.push(SEND_STATUS_NAMES[status]!);
      } }),
    close: () => new Promise<void>((resolve) => agent.deinit(resolve)),
  };
}

/** Observes /19/0/0 and records the payload of every notification (not of the observe response, which shows the current value). */
export function observeUplink(server: TestServer, received: string[]): ObserveHandle {
  let responded = false;
  return server.endpoint.observe({ peer: server.clientPeer!, path: "/19/0/0" }, (error, response) => {
    if (error) return;
    if (responded) received.push(utf8Decode(response!.payload));
    responded = true;
  });
}

export const FINAL = ["NOT_SENT", "SENT_FAIL", "SENT_TIME_OUT", "SENT_SUCCESS", "SENT_GET_RST"];
export function finals(list: string[] | undefined): string[] {
  return (list ?? []).filter((status) => FINAL.indexOf(status) >= 0);
}

