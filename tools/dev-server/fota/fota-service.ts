import type { Time } from "../../../hal/time.js";
import { blockSize, decodeBlock } from "../../../modules/coap/block.js";
import { upload } from "../../../modules/coap/blockwise-client.js";
import { codeClass, codeString, ContentFormat, Method, OptionNumber, ResponseCode } from "../../../modules/coap/constants.js";
import type { CoapEndpoint, ServerExchange } from "../../../modules/coap/endpoint.js";
import { peerKey, utf8Decode, type Peer } from "../../../modules/coap/message.js";
import type { LwM2mDevServer, ServerEvent } from "../server.js";
import type { FotaEvent, FotaJobSummary, FotaMethod, FotaScheme } from "./events.js";
import { FotaJob, type FotaJobContext } from "./fota-job.js";
import { serveImageOverCoap } from "./image-coap.js";
import { ImageError, ImageStore, type HostedImage } from "./image-store.js";
import { ProgressTracker, type FotaTransport, type ProgressLimits } from "./progress.js";

export interface FotaServiceOptions {
  /** Folder of the hosted images (--images DIR); without one they are kept in memory. */
  readonly imagesDir?: string;
  /** Largest image uploaded or served (default 16 MiB). */
  readonly maxImageBytes?: number;
  /** Host name or address devices reach this server at, for Package URIs (default 127.0.0.1). */
  readonly publicHost?: string;
  readonly progress?: ProgressLimits;
  /** A transfer with no progress and no word from the device for this long fails (default 5 min). */
  readonly stallTimeoutMs?: number;
  /** A device that has not come back this long after Update fails the job (default 10 min). */
  readonly rebootTimeoutMs?: number;
  /** Block size for push (Block1 SZX, default 6: 1024 bytes; the device may ask for smaller). */
  readonly pushSzx?: number;
}

/** Jobs kept (one per endpoint); the oldest finished ones are dropped first. */
export const MAX_FOTA_JOBS = 64;

export interface FotaRequest {
  readonly image: string;
  readonly method?: FotaMethod;
  readonly scheme?: FotaScheme;
  readonly autoUpdate?: boolean;
}

/**
 * Firmware updates from the development server: hosts the images (CoAP
 * Block2 at /fw/NAME on coap:// and coaps://, HTTP Range at /images/NAME on
 * the HTTP API), turns what is served into rate-limited "fota-progress"
 * events, and runs one FotaJob per device.
 */
export class FotaService {
  readonly store: ImageStore;
  /** The HTTP API's port once it listens (startHttpApi sets it): http:// Package URIs need it. */
  httpPort = 0;
  private readonly server: LwM2mDevServer;
  private readonly time: Time;
  private readonly options: FotaServiceOptions;
  private readonly progress: ProgressTracker;
  private readonly jobs = new Map<string, FotaJob>();

  constructor(server: LwM2mDevServer, time: Time, options: FotaServiceOptions = {}) {
    this.server = server;
    this.time = time;
    this.options = options;
    this.store = new ImageStore({ ...(options.imagesDir !== undefined ? { dir: options.imagesDir } : {}), ...(options.maxImageBytes !== undefined ? { maxImageBytes: options.maxImageBytes } : {}) });
    this.progress = new ProgressTracker((report) => this.emit({ type: "fota-progress", ...report }), Date.now, options.progress);
    server.on("event", (event: ServerEvent) => {
      if (event.type === "fota-progress" || event.type === "fota-job" || event.type === "fota-result") return;
      if ("endpoint" in event) this.jobs.get(event.endpoint)?.onServerEvent(event);
    });
  }

  /** A request to /fw/...: the image, block by block. */
  serveCoap(exchange: ServerExchange): void {
    const endpoint = this.server.endpoint;
    serveImageOverCoap(exchange, this.store, { maxMessageSize: endpoint.maxMessageSize, preferredSzx: endpoint.parameters.preferredSzx }, (peer, image, end) => {
      const transport: FotaTransport = this.server.pskIdentityOf(peer) !== undefined ? "coaps" : "coap";
      this.served(`${transport} ${peerKey(peer)} ${image.name}`, peer.address, this.server.clientAt(peer)?.endpoint, image, end, transport);
    });
  }

  /** The HTTP API sent the bytes of `image` up to `end` to `remote`. */
  servedOverHttp(remote: { address: string; port: number }, image: HostedImage, end: number): void {
    this.served(`http ${remote.address}:${remote.port} ${image.name}`, remote.address, undefined, image, end, "http");
  }

  /** The Package URI of an image for a scheme. */
  uri(image: string, scheme: FotaScheme): string {
    const host = this.options.publicHost ?? "127.0.0.1";
    const name = encodeURIComponent(image);
    if (scheme === "http") {
      if (!this.httpPort) throw new ImageError(409, "http:// needs the HTTP API (--http-port)");
      return `http://${host}:${this.httpPort}/images/${name}`;
    }
    if (scheme === "coaps") {
      if (!this.server.dtlsPort) throw new ImageError(409, "coaps:// needs the DTLS endpoint (--psk)");
      return `coaps://${host}:${this.server.dtlsPort}/fw/${name}`;
    }
    return `coap://${host}:${this.server.port}/fw/${name}`;
  }

  /** Starts an update of `endpoint`; the job replaces a finished one, never a running one. */
  start(endpoint: string, request: FotaRequest): FotaJob {
    const record = this.server.registry.get(endpoint);
    if (!record) throw new ImageError(404, `no client "${endpoint}" is registered`);
    const image = this.store.get(request.image);
    if (!image) throw new ImageError(404, `no image "${request.image}" (see GET /images)`);
    const method = request.method ?? "pull";
    if (method !== "pull" && method !== "push") throw new ImageError(400, `method must be pull or push, got "${String(method)}"`);
    const scheme = request.scheme ?? (record.pskIdentity !== undefined ? "coaps" : "coap");
    if (scheme !== "coap" && scheme !== "coaps" && scheme !== "http") throw new ImageError(400, `scheme must be coap, coaps or http, got "${String(scheme)}"`);
    const running = this.jobs.get(endpoint);
    if (running && !running.done) throw new ImageError(409, `an update of ${endpoint} is ${running.summary().status}; DELETE /clients/${endpoint}/fota cancels it`);
    const uri = method === "pull" ? this.uri(image.name, scheme) : undefined;
    this.makeRoom(endpoint);
    const job = new FotaJob(this.context(image), {
      endpoint,
      image: image.name,
      total: image.bytes.length,
      method,
      ...(uri !== undefined ? { scheme, uri } : {}),
      autoUpdate: request.autoUpdate !== false,
    });
    this.jobs.set(endpoint, job);
    job.start();
    return job;
  }

  job(endpoint: string): FotaJob | undefined {
    return this.jobs.get(endpoint);
  }

  list(): FotaJobSummary[] {
    return Array.from(this.jobs.values(), (job) => job.summary());
  }

  cancel(endpoint: string): boolean {
    return this.jobs.get(endpoint)?.cancel() ?? false;
  }

  close(): void {
    for (const job of this.jobs.values()) job.cancel("the server closed", true);
  }

  private emit(event: FotaEvent): void {
    this.server.emit("event", event);
  }

  private served(key: string, address: string, known: string | undefined, image: HostedImage, end: number, transport: FotaTransport): void {
    const endpoint = known ?? this.endpointFor(address, image.name, transport);
    this.progress.record(key, { endpoint, image: image.name, bytes: end, total: image.bytes.length, transport });
    const job = this.jobs.get(endpoint);
    if (job && job.spec.image === image.name && job.spec.method === "pull") job.progress(end);
  }

  /** Who downloads from an address that is not a registered peer: the one job pulling that image, else the one client at that address. */
  private endpointFor(address: string, image: string, transport: FotaTransport): string {
    const pulling = Array.from(this.jobs.values()).filter((job) => !job.done && job.spec.image === image && job.spec.scheme === transport);
    if (pulling.length === 1) return pulling[0]!.spec.endpoint;
    const there = this.server.registry.list().filter((record) => record.peer.address === address);
    return there.length === 1 ? there[0]!.endpoint : address;
  }

  private makeRoom(endpoint: string): void {
    if (this.jobs.has(endpoint)) return void this.jobs.delete(endpoint);
    if (this.jobs.size < MAX_FOTA_JOBS) return;
    for (const [key, job] of this.jobs) {
      if (job.done) return void this.jobs.delete(key);
    }
    throw new ImageError(429, `${MAX_FOTA_JOBS} updates are running`);
  }

  private context(image: HostedImage): FotaJobContext {
    const server = this.server;
    return {
      read: (endpoint, path) => server.read(endpoint, path),
      write: (endpoint, path, value) => server.write(endpoint, path, value),
      execute: (endpoint, path) => server.execute(endpoint, path),
      observe: (endpoint, path) => server.observe(endpoint, path),
      cancelObservation: (endpoint, path, proactive) => void server.cancelObservation(endpoint, path, proactive),
      push: (endpoint, onProgress) => this.push(endpoint, image, onProgress),
      emit: (event) => this.emit(event),
      time: this.time,
      stallTimeoutMs: this.options.stallTimeoutMs ?? 5 * 60 * 1000,
      rebootTimeoutMs: this.options.rebootTimeoutMs ?? 10 * 60 * 1000,
    };
  }

  /** Writes the package to /5/0/0 with Block1 (content format 42), reporting the bytes each 2.31/2.04 acknowledges. */
  private push(endpoint: string, image: HostedImage, onProgress: (bytes: number) => void): { done: Promise<void>; cancel(): void } {
    const record = this.server.registry.get(endpoint);
    if (!record) return { done: Promise.reject(new Error(`no client "${endpoint}" is registered`)), cancel: () => undefined };
    const peer: Peer = record.peer;
    const transport: FotaTransport = "push";
    const key = `push ${endpoint} ${image.name}`;
    const total = image.bytes.length;
    // The same endpoint, with each block's answer seen on its way to upload().
    const real = this.server.endpoint;
    const watched = Object.create(real) as CoapEndpoint;
    watched.request = (options, callback) =>
      real.request(options, (error, response) => {
        const block = options.options?.find((option) => option.number === OptionNumber.Block1);
        const decoded = block ? decodeBlock(block.value) : undefined;
        if (!error && response && (response.code === ResponseCode.Continue || codeClass(response.code) === 2)) {
          const end = decoded ? decoded.num * blockSize(decoded.szx) + (options.payload?.length ?? 0) : total;
          this.progress.record(key, { endpoint, image: image.name, bytes: Math.min(end, total), total, transport });
          onProgress(Math.min(end, total));
        }
        callback(error, response);
      });
    let cancel: () => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      const handle = upload(watched, { peer, method: Method.PUT, path: "/5/0/0", contentFormat: ContentFormat.OctetStream, payload: image.bytes, szx: this.options.pushSzx ?? 6 }, (error, response) => {
        if (error) return reject(new Error(`write /5/0/0: ${error.message}`));
        if (codeClass(response!.code) !== 2) return reject(new Error(`write /5/0/0: ${codeString(response!.code)}${response!.payload.length ? ` ${utf8Decode(response!.payload)}` : ""}`));
        resolve();
      });
      cancel = () => handle.cancel();
    });
    return { done, cancel: () => cancel() };
  }
}
