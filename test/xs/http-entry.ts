// Runs inside XS for test/node/host-http.test.ts: performs the GETs listed in
// config.cases (JSON: [{url, offset?, etag?, cancelAfter?, refuseStatus?}])
// one after the other with Platform.http, and reports each outcome: status,
// headers, bytes, CRC-32 of the body, the largest chunk, the end's error code.
import config from "mc/config";
import { createPlatform } from "hal/port";
import { crc32 } from "../../hal/common/crc32.js";
import { encodeFrame } from "../../hal/host/bridge-frame.js";
import { isHalError } from "../../hal/errors.js";
import type { HttpResponseHeaders } from "../../hal/http.js";

interface Case {
  readonly url: string;
  readonly offset?: number;
  readonly etag?: string;
  /** Cancel once this many bytes have arrived. */
  readonly cancelAfter?: number;
  /** Return false from onResponse for this status. */
  readonly refuseStatus?: number;
}

function report(header: object): void {
  issueCommand(encodeFrame(header));
}

const platform = createPlatform(config);
const cases = JSON.parse(String(config["cases"] ?? "[]")) as Case[];

function run(index: number): void {
  const http = platform.http;
  if (!http) return report({ op: "http-result", index, error: "no Platform.http" });
  if (index >= cases.length) return report({ op: "http-done" });
  const one = cases[index]!;
  let status = 0;
  let headers: HttpResponseHeaders | undefined;
  let bytes = 0;
  let crc = 0;
  let chunks = 0;
  let largest = 0;
  let ends = 0;
  let cancelledInside = false;
  const handle = http.get({
    url: one.url,
    ...(one.offset !== undefined ? { offset: one.offset } : {}),
    ...(one.etag !== undefined ? { etag: one.etag } : {}),
    onResponse: (code, received) => {
      status = code;
      headers = received;
      return one.refuseStatus === code ? false : undefined;
    },
    onData: (data) => {
      bytes += data.length;
      crc = crc32(data, crc);
      chunks++;
      if (data.length > largest) largest = data.length;
      if (one.cancelAfter !== undefined && bytes >= one.cancelAfter && !cancelledInside) {
        cancelledInside = true;
        handle.cancel();
      }
    },
    onEnd: (error) => {
      ends++;
      const code = error ? (isHalError(error) ? error.code : "not-a-HalError") : undefined;
      // A second onEnd would be reported as a second result for the same index, which the test refuses.
      report({ op: "http-result", index, status, headers, bytes, crc, chunks, largest, ends, code, message: error?.message });
      if (ends === 1) platform.time.setTimer(0, () => run(index + 1));
    },
  });
}

run(0);
