import type { Logger } from "../../hal/log.js";
import { blockSize, MAX_SZX, szxForSize } from "../coap/block.js";
import { download, DownloadError, type DownloadInfo } from "../coap/blockwise-client.js";
import { codeClass, codeString, OptionNumber } from "../coap/constants.js";
import type { CoapEndpoint } from "../coap/endpoint.js";
import type { CoapError } from "../coap/errors.js";
import type { CoapOption, Peer } from "../coap/message.js";
import type { AccountSecurity } from "../lwm2m/account-security.js";
import { FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import { resolvePeer, type Resolver } from "../lwm2m/server-uri.js";
import type { DownloadDone, DownloadHandle, DownloadJob, FirmwareDownloader } from "./download.js";
import { DownloadRun } from "./download-run.js";
import { parseDownloadUri } from "./download-uri.js";

/** Where a coaps:// host gets a DTLS session on the endpoint's socket: the LwM2M client (allowPeer, forgetPeer). */
export interface DownloadPeers {
  readonly dtlsAvailable: boolean;
  allowPeer(peer: Peer, security: AccountSecurity, onError?: (message: string) => void): boolean;
  forgetPeer(peer: Peer): void;
}

export interface PskCredentials {
  readonly identity: Uint8Array;
  readonly key: Uint8Array;
}

export interface CoapDownloaderOptions {
  /** The endpoint the blocks are fetched on: the LwM2M client's (client.endpoint), one socket for everything. */
  readonly endpoint: CoapEndpoint;
  /** Host-name resolution (the HAL net's resolve); numeric hosts need none. */
  readonly resolve?: Resolver;
  /** Gives a coaps:// host its DTLS security for the download (the LwM2M client). Without it, or without DTLS there, coaps:// is not offered. */
  readonly peers?: DownloadPeers;
  /** The PSK for coaps:// hosts, asked at each download; the application passes the LwM2M server's (client.serverPsk()). Without it coaps:// is not offered. */
  readonly psk?: () => PskCredentials | undefined;
  readonly log?: Logger;
}

const Result = FirmwareUpdateResult;

/**
 * Pulls a Package URI over CoAP with Block2 (RFC 7959) from any host, on the
 * LwM2M client's own endpoint: coaps:// hosts get a DTLS session through
 * allowPeer() for the time of the download. A resumed job asks for the
 * block holding job.offset (rounded down) and expects job.etag; a resource
 * that is no longer that one (another ETag, none at all, or a server that
 * answers without Block2) is fetched again from 0, with onStart at offset 0.
 *
 * Results: 4.xx → InvalidUri (7, the code in the detail); timeouts, RST,
 * transport and DTLS failures, 5.xx and malformed blocks → ConnectionLost
 * (4); bytes beyond the announced Size2, a Size2 that changes, or an end
 * before it → IntegrityCheckFailure (5): the bytes cannot form the package
 * announced; a scheme other than coap/coaps, or coaps without DTLS or a PSK →
 * UnsupportedProtocol (9); a malformed URI → InvalidUri (7); a name that does
 * not resolve → ConnectionLost (4: the HAL cannot tell a missing network from
 * an unknown name). cancel() ends the exchange under way and releases the
 * DTLS peer; done is not called after it.
 */
export class CoapDownloader implements FirmwareDownloader {
  private readonly options: CoapDownloaderOptions;

  constructor(options: CoapDownloaderOptions) {
    this.options = options;
  }

  get protocols(): readonly number[] {
    return this.secureAvailable ? [0, 1] : [0];
  }

  private get secureAvailable(): boolean {
    return this.options.peers?.dtlsAvailable === true && this.options.psk !== undefined;
  }

  start(job: DownloadJob, done: DownloadDone): DownloadHandle {
    const run = new DownloadRun(job, done, this.options.log);
    this.begin(run);
    run.leaveStart();
    return { cancel: () => run.cancel() };
  }

  private begin(run: DownloadRun): void {
    const uri = parseDownloadUri(run.job.uri);
    if (typeof uri === "string") return run.end(Result.InvalidUri, uri);
    if (uri.scheme !== "coap" && uri.scheme !== "coaps") return run.end(Result.UnsupportedProtocol, `${uri.scheme}:// is not CoAP`);
    const secure = uri.scheme === "coaps";
    let psk: PskCredentials | undefined;
    if (secure) {
      if (!this.secureAvailable) return run.end(Result.UnsupportedProtocol, "coaps:// needs DTLS and a PSK, which this downloader was not given");
      psk = this.options.psk!();
      if (!psk) return run.end(Result.UnsupportedProtocol, "no PSK for coaps://");
    }
    const port = uri.port ?? (secure ? 5684 : 5683);
    const uriOptions: CoapOption[] = [];
    for (const segment of uri.path) uriOptions.push({ number: OptionNumber.UriPath, value: segment });
    for (const argument of uri.query) uriOptions.push({ number: OptionNumber.UriQuery, value: argument });
    // Size2 0 asks for the total size with every block (RFC 7959 §4), so a resumed download learns it too.
    uriOptions.push({ number: OptionNumber.Size2, value: new Uint8Array(0) });
    resolvePeer(
      { secure, host: uri.host, port },
      this.options.resolve,
      (peer) => {
        if (!run.running) return;
        if (psk) {
          const peers = this.options.peers!;
          const allowed = peers.allowPeer(peer, { mode: "psk", identity: psk.identity, key: psk.key }, (message) => run.end(Result.ConnectionLost, `DTLS with ${uri.host}: ${message}`));
          if (!allowed) return run.end(Result.ConnectionLost, "no room for another DTLS peer");
          run.onRelease(() => peers.forgetPeer(peer));
        }
        new BlockFetch(this.options.endpoint, run, peer, uriOptions).begin();
      },
      (message) => run.end(Result.ConnectionLost, `cannot resolve ${uri.host}: ${message}`),
    );
  }
}

/** The Block2 requests of one run: an attempt from the job's offset, then from 0 as often as the representation changes. */
class BlockFetch {
  private readonly endpoint: CoapEndpoint;
  private readonly run: DownloadRun;
  private readonly peer: Peer;
  private readonly uriOptions: readonly CoapOption[];
  private readonly szx: number;
  private current: { cancel(): void } | undefined;

  constructor(endpoint: CoapEndpoint, run: DownloadRun, peer: Peer, uriOptions: readonly CoapOption[]) {
    this.endpoint = endpoint;
    this.run = run;
    this.peer = peer;
    this.uriOptions = uriOptions;
    const wanted = run.job.blockSize;
    this.szx = wanted === undefined ? Math.min(endpoint.parameters.preferredSzx, MAX_SZX) : szxForSize(Math.max(16, wanted));
  }

  begin(): void {
    // The run may end from outside (cancel, a DTLS failure): the exchange under way stops then too.
    this.run.onRelease(() => this.current?.cancel());
    const job = this.run.job;
    const startBlock = Math.floor(Math.max(0, job.offset) / blockSize(this.szx));
    this.attempt(startBlock, startBlock > 0 ? job.etag : undefined);
  }

  private attempt(startBlock: number, expectedEtag: Uint8Array | undefined): void {
    this.run.newAttempt();
    let over = false;
    const handle = download(
      this.endpoint,
      {
        peer: this.peer,
        options: this.uriOptions,
        szx: this.szx,
        startBlock,
        ...(expectedEtag ? { expectedEtag } : {}),
        onBlock: (offset, data, _more, info) => this.block(offset, data, info),
      },
      (error, result) => {
        over = true;
        this.current = undefined;
        if (!this.run.running) return;
        if (!error) {
          if (result!.complete) return this.run.complete();
          return; // stopped by block(), which ended the run
        }
        this.failed(error);
      },
    );
    // An exchange that failed at once (and maybe started the next attempt) is not the one under way.
    if (!over) this.current = handle;
  }

  private block(offset: number, data: Uint8Array, info: DownloadInfo): boolean {
    if (!this.run.running) return false;
    if (!this.run.started && !this.run.begin({ etag: info.etag, size: info.size, offset })) return false;
    return this.run.data(offset, data, info.size);
  }

  private failed(error: CoapError): void {
    if (error instanceof DownloadError) {
      if (error.stop === "etag-changed") return this.restart(error.message);
      if (error.stop === "not-resumable") return this.restart("the server cannot resume (an answer without Block2)");
      const code = error.responseCode ?? 0;
      if (codeClass(code) === 4) return this.run.end(Result.InvalidUri, `the server answered ${codeString(code)}`);
      return this.run.end(Result.ConnectionLost, `the server answered ${codeString(code)}`);
    }
    this.run.end(Result.ConnectionLost, error.message);
  }

  private restart(why: string): void {
    if (this.run.restart(why)) this.attempt(0, undefined);
  }
}
