/**
 * An HTTP client a port may offer (the Moddable SDK's http module, Node's
 * http on the host): just what a firmware download needs, a GET that can
 * start at a byte offset.
 */

export interface HttpGetOptions {
  /** http:// URL. */
  readonly url: string;
  /** Sends `Range: bytes=<offset>-` when above 0 (resuming). */
  readonly offset?: number;
  /** Sends If-Range (or If-Match) with this entity tag when resuming. */
  readonly etag?: string;
  /** Called once with the status and headers of the response. Return false to abort. */
  readonly onResponse: (status: number, headers: HttpResponseHeaders) => boolean | void;
  /** Body bytes in order; `data` is owned by the callee. Return false to abort. */
  readonly onData: (data: Uint8Array) => boolean | void;
  /** Called exactly once: the body ended (error undefined), failed, or was aborted/cancelled. */
  readonly onEnd: (error: Error | undefined) => void;
}

export interface HttpResponseHeaders {
  /** Content-Length, when sent. */
  readonly contentLength?: number;
  /** The total from Content-Range (bytes a-b/total), when sent. */
  readonly totalLength?: number;
  /** First byte offset of the body: from Content-Range on 206, else 0. */
  readonly rangeStart: number;
  readonly etag?: string;
}

export interface HttpClient {
  get(options: HttpGetOptions): { cancel(): void };
}
