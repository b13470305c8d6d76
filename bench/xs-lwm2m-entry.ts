// Runs inside XS: registers the client (all standard objects) with a server
// endpoint in the same machine, then tells bench/run.ts, which reads XS's
// heap meter before and after.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { encodeFrame } from "../hal/host/bridge-frame.js";
import { UdpTransport } from "../modules/coap/transport.js";
import { createBenchClient, openBenchServer } from "./lwm2m-scenario.js";

const platform = createPlatform(config);
const server = openBenchServer(platform);
const report = (header: object) => issueCommand(encodeFrame(header));

function waitForPort(then: () => void): void {
  if (server.localPort) then();
  else platform.time.setTimer(5, () => waitForPort(then));
}

platform.time.setTimer(10, () =>
  waitForPort(() => {
    const client = createBenchClient(platform, new UdpTransport(platform.net), server.localPort);
    client.start();
    const check = () => {
      if (client.registrationState() === "registered") report({ op: "bench-registered" });
      else platform.time.setTimer(5, check);
    };
    check();
  }),
);
report({ op: "bench-ready" });
