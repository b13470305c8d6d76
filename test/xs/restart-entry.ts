// Runs inside XS for test/node/host-restart.test.ts: counts its boots in the
// settings (the host's settings.json), reports each boot and each stop, and on
// its first boot leaves a long timer behind and restarts from a timer
// callback, as firmware does after an update. The host must boot it again.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { encodeFrame } from "../../hal/host/bridge-frame.js";

function report(header: object): void {
  issueCommand(encodeFrame(header));
}

const platform = createPlatform(config);
const boots = Number(platform.settings.get("boots") ?? 0) + 1;
platform.settings.set("boots", boots);
report({ op: "boot", boots });
platform.onStop((done) => {
  report({ op: "stopping", boots });
  done();
});
if (boots === Number(config["restartOnBoot"] ?? 1)) {
  // A timer the reboot must release on the Node side.
  platform.time.setTimer(10 * 60 * 1000, () => report({ op: "stale-timer", boots }));
  // config.restartAt=load: while the entry module is still loading (the host waits for the load to finish).
  if (config["restartAt"] === "load") platform.restart();
  else platform.time.setTimer(5, () => platform.restart());
}
