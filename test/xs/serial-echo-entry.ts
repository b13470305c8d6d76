// Runs inside XS for test/node/host-serial.test.ts: opens Platform.serial
// (the host's TTY, bridged), checks that a second open is refused, writes
// "AT\r\n" and reports what came back once the module's OK is in it. With
// config hold=true it keeps the port open and reports its error instead.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { encodeFrame } from "../../hal/host/bridge-frame.js";
import { isHalError } from "../../hal/errors.js";

function report(header: object): void {
  issueCommand(encodeFrame(header));
}

const platform = createPlatform(config);
const serial = platform.serial;
if (!serial) {
  report({ op: "serial-result", hasSerial: false });
} else {
  let received = "";
  let chunks = 0;
  let reported = false;
  const port = serial.open({
    baud: Number(config["baud"] ?? 115200),
    onReceive: (data) => {
      chunks++;
      for (const byte of data) received += String.fromCharCode(byte);
      if (!received.includes("\r\nOK\r\n") || port.closed || reported) return;
      reported = true;
      if (config["hold"]) return report({ op: "serial-result", hasSerial: true, received, chunks, closed: port.closed, secondOpen });
      port.close();
      let writeAfterClose = "none";
      try {
        port.write(new Uint8Array([0x41]));
      } catch (error) {
        writeAfterClose = isHalError(error, "closed") ? "closed" : String(error);
      }
      report({ op: "serial-result", hasSerial: true, received, chunks, closed: port.closed, secondOpen, writeAfterClose });
    },
    onError: (error) => report({ op: "serial-error", code: error.code, message: error.message, closed: port.closed }),
  });
  let secondOpen = "accepted";
  try {
    serial.open({ baud: 115200, onReceive: () => undefined });
  } catch (error) {
    secondOpen = isHalError(error, "busy") ? "busy" : String(error);
  }
  port.write(new Uint8Array([0x41, 0x54, 0x0d, 0x0a]));
}
