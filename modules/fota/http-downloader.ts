import type { HttpClient, HttpResponseHeaders } from "../../hal/http.js";
import type { Logger } from "../../hal/log.js";
import { utf8Decode, utf8Encode } from "../coap/message.js";
import { FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import type { DownloadDone, DownloadHandle, DownloadJob, FirmwareDownloader } from "./download.js";
import { DownloadRun } from "./download-run.js";
import { parseDownloadUri } from "./download-uri.js";

export interface HttpDownloaderOptions {
  /** The platform's HTTP client (Platform.http). */
  readonly http: HttpClient;
  readonly log?: Logger;
}

const Result = FirmwareUpdateResult;

/**
 * Pulls a Package URI over http:// through the HAL HttpClient. A resumed job
 * asks for `Range: bytes=<offset>-` with If-Range set to job.etag (the HTTP
 * entity tag, kept as its UTF-8 bytes); a 200 instead of 206 (the resource
 * changed, or the server ignores ranges) starts over from 0 in that same
 * response (onStart at offset 0), and so does a 416 (the resource is now
 * shorter than the offset) or a 206 with another entity tag, with a new
 * request. A weak entity tag cannot serve in If-Range, so such a resume
 * always starts over.
 *
 * Results: 4xx → InvalidUri (7, the status in the detail), and 3xx too
 * (redirects are not followed); a network error, an aborted body, 5xx →
 * ConnectionLost (4); bytes beyond the announced length or a body that ends
 * short of it → IntegrityCheckFailure (5) for the former, ConnectionLost (4)
 * for the latter (the connection closed early); https:// or any other scheme
 * → UnsupportedProtocol (9); a malformed URI → InvalidUri (7). cancel()
 * cancels the request; done is not called after it.
 */
export class HttpDownloader implements FirmwareDownloader {
  readonly protocols: readonly number[] = Object.freeze([2]);
  private readonly options: HttpDownloaderOptions;

  constructor(options: HttpDownloaderOptions) {
    this.options = options;
  }

  start(job: DownloadJob, done: DownloadDone): DownloadHandle {
    const run = new DownloadRun(job, done, this.options.log);
    const uri = parseDownloadUri(job.uri);
    if (typeof uri === "string") run.end(Result.InvalidUri, uri);
    else if (uri.scheme !== "http") run.end(Result.UnsupportedProtocol, `${uri.scheme}:// is not supported (http:// only)`);
    else new HttpFetch(this.options.http, run).begin();
    run.leaveStart();
    return { cancel: () => run.cancel() };
  }
}

/** The GET requests of one run: from the job's offset, then from 0 when the server cannot resume. */
class HttpFetch {
  private readonly http: HttpClient;
  private readonly run: DownloadRun;
  private current: { cancel(): void } | undefined;
  /** Counts requests, so callbacks of an abandoned one are ignored. */
  private generation = 0;

  constructor(http: HttpClient, run: DownloadRun) {
    this.http = http;
    this.run = run;
  }

  begin(): void {
    this.run.onRelease(() => {
      this.generation++;
      this.current?.cancel();
    });
    const job = this.run.job;
    this.request(Math.max(0, job.offset), job.etag);
  }

  private request(from: number, etag: Uint8Array | undefined): void {
    const generation = ++this.generation;
    const live = () => generation === this.generation && this.run.running;
    let offset = from;
    let restart: string | undefined;
    let length: number | undefined;
    this.run.newAttempt();
    const handle = this.http.get({
      url: this.run.job.uri,
      ...(from > 0 ? { offset: from } : {}),
      ...(from > 0 && etag ? { etag: utf8Decode(etag) } : {}),
      onResponse: (status, headers) => {
        if (!live()) return false;
        const outcome = this.response(status, headers, from, etag);
        if (typeof outcome === "string") {
          restart = outcome;
          return false;
        }
        if (outcome === undefined) return false;
        offset = outcome.start;
        length = outcome.size;
        return this.run.begin({ etag: headers.etag === undefined ? undefined : utf8Encode(headers.etag), size: outcome.size, offset });
      },
      onData: (data) => {
        if (!live()) return false;
        if (!this.run.data(offset, data, length)) return false;
        offset += data.length;
        return true;
      },
      onEnd: (error) => {
        if (generation !== this.generation) return;
        this.current = undefined;
        if (!this.run.running) return;
        if (restart !== undefined) {
          if (this.run.restart(restart)) this.request(0, undefined);
          return;
        }
        if (error) return this.run.end(Result.ConnectionLost, error.message);
        if (!this.run.started) return this.run.end(Result.ConnectionLost, "the response ended before its headers");
        if (length !== undefined && offset < length) return this.run.end(Result.ConnectionLost, `the body ended at ${offset} of ${length} bytes`);
        this.run.complete();
      },
    });
    if (generation === this.generation && this.run.running) this.current = handle;
  }

  /**
   * What a response means: where its body starts and the total size; a
   * string to start again from 0 (why); undefined when the run ended.
   */
  private response(status: number, headers: HttpResponseHeaders, from: number, etag: Uint8Array | undefined): { start: number; size: number | undefined } | string | undefined {
    if (status === 200) return { start: 0, size: headers.contentLength };
    if (status === 206) {
      if (from > 0 && etag && headers.etag !== undefined && headers.etag !== utf8Decode(etag)) return "the server sent a range of another entity (ETag differs)";
      if (headers.rangeStart > from) return this.run.end(Result.ConnectionLost, `the server sent bytes from ${headers.rangeStart}, not from ${from}`), undefined;
      const total = headers.totalLength ?? (headers.contentLength === undefined ? undefined : headers.rangeStart + headers.contentLength);
      return { start: headers.rangeStart, size: total };
    }
    if (status === 416 && from > 0) return "the resource is shorter than the offset (416)";
    if (status >= 500) return this.run.end(Result.ConnectionLost, `HTTP ${status}`), undefined;
    return this.run.end(Result.InvalidUri, `HTTP ${status}${status >= 300 && status < 400 ? " (redirects are not followed)" : ""}`), undefined;
  }
}
