/**
 * What a firmware downloader does, apart from what it downloads into: moves
 * the bytes of a Package URI to the updater, from a byte offset when an
 * interrupted download resumes.
 */

export interface DownloadStart {
  /** Identity of the resource: the CoAP ETag, or the HTTP entity tag as UTF-8. */
  readonly etag: Uint8Array | undefined;
  /** Total size when the server told it (Size2, Content-Length/Content-Range). */
  readonly size: number | undefined;
  /** Offset of the first byte that follows: the job's offset, or 0 when the server cannot resume. */
  readonly offset: number;
}

export interface DownloadJob {
  readonly uri: string;
  /** Byte offset to resume from; 0 for a new download. CoAP rounds it down to a block boundary. */
  readonly offset: number;
  /** Identity from the interrupted download: a resource that no longer matches starts again from 0. */
  readonly etag?: Uint8Array;
  /** Block size for CoAP Block2 (16..1024). */
  readonly blockSize?: number;
  /** Before the first byte. Return a Firmware Update Result to abort (e.g. 2 when the size cannot fit). */
  readonly onStart: (start: DownloadStart) => number | void;
  /** Bytes at `offset`, in order (offsets may repeat data already received). Return a result to abort. */
  readonly onData: (offset: number, data: Uint8Array) => number | void;
}

export interface DownloadHandle {
  cancel(): void;
}

/**
 * Ends a download with a Firmware Update Result (FirmwareUpdateResult):
 * Success, or InvalidUri (7), UnsupportedProtocol (9), ConnectionLost (4),
 * a result returned by onStart/onData, … `detail` says why, for the log.
 */
export type DownloadDone = (result: number, detail: string) => void;

export interface FirmwareDownloader {
  /** Package URI protocols it serves (/5/0/8: 0 CoAP, 1 CoAPS, 2 HTTP, 3 HTTPS). */
  readonly protocols: readonly number[];
  start(job: DownloadJob, done: DownloadDone): DownloadHandle;
}
