import type { HttpClient, HttpGetOptions, HttpResponseHeaders } from "../../hal/http.js";
import type { Time, TimerHandle } from "../../hal/time.js";

/** One resource of the fake HTTP server. */
export interface FakeResource {
  body: Uint8Array;
  /** The entity tag as the header carries it (quotes included). */
  etag?: string;
  /** Answer with this status and no body instead. */
  status?: number;
  /** Answer every request 200 with the whole body (a server without range support). */
  ignoresRange?: boolean;
  /** Answer a ranged request 206 with this entity tag whatever If-Range said (a broken server). */
  rangeEtag?: string;
  /** Send Content-Length larger (or smaller) than the body. */
  announcedLength?: number;
  /** Fail the connection after this many body bytes of a response. */
  failAfter?: number;
}

/** A request as the fake saw it. */
export interface FakeRequest {
  readonly url: string;
  readonly offset: number | undefined;
  readonly etag: string | undefined;
  aborted: boolean;
  cancelled: boolean;
  ended: number;
}

const CHUNK = 4096;

/**
 * An HttpClient that follows the hal/http.ts contract over an in-memory
 * table of resources: Range with If-Range, 206 or 200, body chunks on later
 * timer turns, onEnd exactly once (also after an abort or cancel()).
 */
export class FakeHttp implements HttpClient {
  readonly resources = new Map<string, FakeResource>();
  readonly requests: FakeRequest[] = [];
  private readonly time: Time;
  private readonly timers = new Set<TimerHandle>();

  constructor(time: Time) {
    this.time = time;
  }

  /** Timers the fake still has armed (none once every request ended). */
  get liveTimers(): number {
    return this.timers.size;
  }

  get(options: HttpGetOptions): { cancel(): void } {
    const seen: FakeRequest = { url: options.url, offset: options.offset, etag: options.etag, aborted: false, cancelled: false, ended: 0 };
    this.requests.push(seen);
    let timer: TimerHandle | undefined;
    let over = false;
    const end = (error: Error | undefined) => {
      if (over) return;
      over = true;
      if (timer !== undefined) this.timers.delete(timer);
      this.time.clearTimer(timer);
      seen.ended++;
      options.onEnd(error);
    };
    const later = (step: () => void) => {
      const handle: TimerHandle = this.time.setTimer(1, () => {
        this.timers.delete(handle);
        if (!over) step();
      });
      timer = handle;
      this.timers.add(handle);
    };
    later(() => {
      const resource = this.resources.get(options.url);
      if (!resource) return this.respond(options, 404, { rangeStart: 0 }, undefined, seen, end, later);
      if (resource.status !== undefined) return this.respond(options, resource.status, { rangeStart: 0 }, undefined, seen, end, later);
      const body = resource.body;
      const offset = options.offset ?? 0;
      const matches = options.etag === undefined || options.etag === resource.etag;
      if (offset > 0 && !resource.ignoresRange && (matches || resource.rangeEtag !== undefined)) {
        if (offset >= body.length) return this.respond(options, 416, { rangeStart: 0 }, undefined, seen, end, later);
        const etag = resource.rangeEtag ?? resource.etag;
        const headers: HttpResponseHeaders = { rangeStart: offset, contentLength: body.length - offset, totalLength: body.length, ...(etag ? { etag } : {}) };
        return this.respond(options, 206, headers, body.subarray(offset), seen, end, later, resource.failAfter);
      }
      const headers: HttpResponseHeaders = { rangeStart: 0, contentLength: resource.announcedLength ?? body.length, ...(resource.etag ? { etag: resource.etag } : {}) };
      this.respond(options, 200, headers, body, seen, end, later, resource.failAfter);
    });
    return {
      cancel: () => {
        if (over) return;
        seen.cancelled = true;
        end(new Error("cancelled"));
      },
    };
  }

  private respond(
    options: HttpGetOptions,
    status: number,
    headers: HttpResponseHeaders,
    body: Uint8Array | undefined,
    seen: FakeRequest,
    end: (error: Error | undefined) => void,
    later: (step: () => void) => void,
    failAfter?: number,
  ): void {
    if (options.onResponse(status, headers) === false) {
      seen.aborted = true;
      return end(new Error("aborted"));
    }
    if (!body) return end(undefined);
    let at = 0;
    const next = () => {
      if (failAfter !== undefined && at >= failAfter) return end(new Error("connection reset by peer"));
      if (at >= body.length) return end(undefined);
      const chunk = body.slice(at, Math.min(at + CHUNK, body.length, failAfter ?? body.length));
      at += chunk.length;
      if (options.onData(chunk) === false) {
        seen.aborted = true;
        return end(new Error("aborted"));
      }
      later(next);
    };
    later(next);
  }
}
