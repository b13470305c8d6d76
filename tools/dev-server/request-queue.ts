/**
 * Deadlines and queue mode for the development server's device-management
 * requests. Every request has a deadline that covers its wait in line and
 * the exchange itself: when it passes, the exchange is cancelled (freeing
 * the client's CoAP slot for the next request) and the request fails with a
 * CoapError of kind "timeout" (the HTTP API answers 504). Requests go to a
 * client one at a time, in order.
 *
 * A queue-mode client (binding with Q, or the LwM2M 1.1 Q flag) listens only
 * for a while after it talks to the server: it counts as awake for
 * `awakeMs` after its Register, Update, a notification, a Send or an answer,
 * and sleeping after that, or as soon as a request to it times out. Requests
 * to a sleeping client wait for its next Update (or anything else from it);
 * their default deadline is `queueTimeoutMs` instead of `timeoutMs`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { EventEmitter } from "node:events";
import type { Time, TimerHandle } from "../../hal/time.js";
import { CoapError } from "../../modules/coap/errors.js";

export interface RequestQueueOptions {
  /** Default deadline of a request to an awake client, in ms (default 30 s). */
  readonly timeoutMs?: number;
  /** Default deadline of a request made while a queue-mode client sleeps, its wait for the client included (default 300 s). */
  readonly queueTimeoutMs?: number;
  /** How long a queue-mode client is taken to listen after it was last heard from (default 93 s, MAX_TRANSMIT_WAIT). */
  readonly awakeMs?: number;
  /** Requests waiting or in flight per client; more fail with a CoapError of kind "limit" (default 32). */
  readonly maxPerClient?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30000;
export const DEFAULT_QUEUE_TIMEOUT_MS = 300000;
export const DEFAULT_AWAKE_MS = 93000;
export const MAX_REQUESTS_PER_CLIENT = 32;
/** The longest deadline a request may be given (one day): the timer must stay a sane number. */
export const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

/** A queue-mode client fell asleep or woke up; `waiting` requests wait for it. */
export interface PresenceEvent {
  readonly type: "presence";
  readonly endpoint: string;
  readonly awake: boolean;
  readonly waiting: number;
}

/** What the console and GET /clients show of a client's queue. */
export interface ClientPresence {
  readonly queueMode: boolean;
  readonly awake: boolean;
  /** Requests waiting for their turn (for a sleeping client: for its next Update). */
  readonly waiting: number;
}

/** A request that ended without an answer for another reason than its deadline. */
export class RequestAbandoned extends Error {
  readonly reason: "deregistered" | "closed";
  constructor(reason: "deregistered" | "closed", message: string) {
    super(message);
    this.reason = reason;
    Object.defineProperty(this, "name", { value: "RequestAbandoned", writable: true, configurable: true });
  }
}

/** Starts an exchange; it calls `settle` once with its outcome, and returns how to cancel it. */
export type StartRequest<T> = (settle: (error: Error | undefined, value?: T) => void) => { cancel(): void };

interface Pending {
  readonly start: StartRequest<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: TimerHandle | undefined;
  cancel: (() => void) | undefined;
  done: boolean;
}

interface ClientQueue {
  queueMode: boolean;
  awake: boolean;
  awakeTimer: TimerHandle | undefined;
  readonly waiting: Pending[];
  active: Pending | undefined;
}

/** Queue mode: a binding with Q (LwM2M 1.0, "UQ") or the Q flag of an LwM2M 1.1 Register. */
export function isQueueMode(record: { readonly binding: string; readonly queueFlag?: boolean } | undefined): boolean {
  return record !== undefined && (record.binding.includes("Q") || record.queueFlag === true);
}

/** Parses a request timeout given in seconds ("5", "0.5"): a positive number up to a day. */
export function parseTimeoutSeconds(value: unknown, name = "timeout"): number {
  const seconds = typeof value === "number" ? value : typeof value === "string" && /^\s*[0-9]*\.?[0-9]+\s*$/.test(value) ? Number(value) : NaN;
  if (!(seconds > 0) || seconds * 1000 > MAX_TIMEOUT_MS) throw new RangeError(`${name} must be a number of seconds above 0 and at most ${MAX_TIMEOUT_MS / 1000}, got ${JSON.stringify(value)}`);
  return Math.ceil(seconds * 1000);
}

export class RequestQueue {
  private readonly time: Time;
  private readonly timeoutMs: number;
  private readonly queueTimeoutMs: number;
  private readonly awakeMs: number;
  private readonly maxPerClient: number;
  private readonly isQueueMode: (endpoint: string) => boolean;
  private readonly onPresence: (event: PresenceEvent) => void;
  private readonly clients = new Map<string, ClientQueue>();
  private readonly context = new AsyncLocalStorage<{ timeoutMs: number }>();
  private readonly source: EventEmitter;
  private readonly listener: (event: { type: string; endpoint?: string }) => void;

  /**
   * Follows the server's "event"s (`source`): a client is heard from on its
   * Register, Update, notifications and Sends, and forgotten when it
   * deregisters or expires. Presence changes are emitted there as "presence" events.
   */
  constructor(source: EventEmitter, time: Time, isQueueMode: (endpoint: string) => boolean, options: RequestQueueOptions = {}) {
    this.source = source;
    this.time = time;
    this.isQueueMode = isQueueMode;
    this.onPresence = (event) => source.emit("event", event);
    this.listener = (event) => {
      if (event.endpoint === undefined) return;
      if (event.type === "registered" || event.type === "updated" || event.type === "notification" || event.type === "send") this.heard(event.endpoint);
      else if (event.type === "deregistered") this.forget(event.endpoint);
    };
    source.on("event", this.listener);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.queueTimeoutMs = options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    this.awakeMs = options.awakeMs ?? DEFAULT_AWAKE_MS;
    this.maxPerClient = options.maxPerClient ?? MAX_REQUESTS_PER_CLIENT;
    for (const [name, value] of [["timeoutMs", this.timeoutMs], ["queueTimeoutMs", this.queueTimeoutMs], ["awakeMs", this.awakeMs]] as const) {
      if (!(value > 0 && value <= MAX_TIMEOUT_MS)) throw new RangeError(`${name} must be above 0 and at most ${MAX_TIMEOUT_MS}, got ${value}`);
    }
  }

  /**
   * Runs `body` with a deadline of `timeoutMs` for every request it makes
   * through run() (the HTTP API's `timeout`, the console's --timeout).
   */
  withTimeout<T>(timeoutMs: number | undefined, body: () => T): T {
    return timeoutMs === undefined ? body() : this.context.run({ timeoutMs }, body);
  }

  /** Queues a request to `endpoint`; it starts when the client's earlier requests are done and the client is awake. */
  run<T>(endpoint: string, start: StartRequest<T>): Promise<T> {
    const client = this.client(endpoint);
    const asleep = client.queueMode && !client.awake;
    const timeoutMs = this.context.getStore()?.timeoutMs ?? (asleep ? this.queueTimeoutMs : this.timeoutMs);
    if (client.waiting.length + (client.active ? 1 : 0) >= this.maxPerClient) {
      return Promise.reject(new CoapError("limit", `${this.maxPerClient} requests for ${endpoint} are already waiting or under way`));
    }
    return new Promise<T>((resolve, reject) => {
      const request: Pending = { start: start as StartRequest<unknown>, resolve: resolve as (value: unknown) => void, reject, timer: undefined, cancel: undefined, done: false };
      request.timer = this.time.setTimer(timeoutMs, () => {
        request.timer = undefined;
        const started = request.cancel !== undefined;
        const why = started
          ? `no answer from ${endpoint} within ${timeoutMs / 1000} s`
          : client.queueMode && !client.awake
            ? `${endpoint} did not wake up within ${timeoutMs / 1000} s (queue mode: requests wait for its next Update)`
            : `the request to ${endpoint} waited ${timeoutMs / 1000} s behind earlier ones`;
        this.finish(client, request, new CoapError("timeout", why));
        if (started && client.queueMode) this.sleep(endpoint, client);
        this.pump(endpoint, client);
      });
      client.waiting.push(request);
      if (asleep) this.onPresence({ type: "presence", endpoint, awake: false, waiting: client.waiting.length });
      this.pump(endpoint, client);
    });
  }

  /** The client talked to the server (Register, Update, a notification, a Send): it listens now. */
  heard(endpoint: string): void {
    const client = this.client(endpoint);
    client.queueMode = this.isQueueMode(endpoint);
    this.time.clearTimer(client.awakeTimer);
    client.awakeTimer = undefined;
    const wasAsleep = !client.awake;
    client.awake = true;
    if (client.queueMode) {
      client.awakeTimer = this.time.setTimer(this.awakeMs, () => {
        client.awakeTimer = undefined;
        this.sleep(endpoint, client);
      });
      if (wasAsleep) this.onPresence({ type: "presence", endpoint, awake: true, waiting: client.waiting.length });
    }
    this.pump(endpoint, client);
  }

  /** The client deregistered or expired: what waits for it fails. */
  forget(endpoint: string): void {
    const client = this.clients.get(endpoint);
    if (!client) return;
    this.clients.delete(endpoint);
    this.time.clearTimer(client.awakeTimer);
    for (const request of [...client.waiting, ...(client.active ? [client.active] : [])]) {
      this.finish(client, request, new RequestAbandoned("deregistered", `${endpoint} is no longer registered`));
    }
  }

  presence(endpoint: string): ClientPresence | undefined {
    const client = this.clients.get(endpoint);
    if (!client) return undefined;
    return { queueMode: client.queueMode, awake: client.awake, waiting: client.waiting.length };
  }

  close(): void {
    this.source.off("event", this.listener);
    for (const endpoint of Array.from(this.clients.keys())) {
      const client = this.clients.get(endpoint)!;
      this.clients.delete(endpoint);
      this.time.clearTimer(client.awakeTimer);
      for (const request of [...client.waiting, ...(client.active ? [client.active] : [])]) this.finish(client, request, new RequestAbandoned("closed", "the server is closing"));
    }
  }

  private client(endpoint: string): ClientQueue {
    let client = this.clients.get(endpoint);
    if (!client) {
      // Bounded by the registry: forget() removes a client when it deregisters or expires.
      client = { queueMode: this.isQueueMode(endpoint), awake: true, awakeTimer: undefined, waiting: [], active: undefined };
      this.clients.set(endpoint, client);
    }
    return client;
  }

  private sleep(endpoint: string, client: ClientQueue): void {
    this.time.clearTimer(client.awakeTimer);
    client.awakeTimer = undefined;
    if (!client.awake) return;
    client.awake = false;
    this.onPresence({ type: "presence", endpoint, awake: false, waiting: client.waiting.length });
  }

  private pump(endpoint: string, client: ClientQueue): void {
    while (!client.active && client.waiting.length > 0 && (client.awake || !client.queueMode)) {
      const request = client.waiting.shift()!;
      client.active = request;
      try {
        const handle = request.start((error, value) => {
          if (request.done) return;
          if (error) {
            this.finish(client, request, error);
            if (client.queueMode && error instanceof CoapError && error.kind === "timeout") this.sleep(endpoint, client);
          } else {
            this.finish(client, request, undefined, value);
            if (this.clients.get(endpoint) === client && client.queueMode) this.heard(endpoint);
          }
          this.pump(endpoint, client);
        });
        if (!request.done) request.cancel = () => handle.cancel();
      } catch (error) {
        this.finish(client, request, error as Error);
      }
    }
  }

  private finish(client: ClientQueue, request: Pending, error: Error | undefined, value?: unknown): void {
    if (request.done) return;
    request.done = true;
    this.time.clearTimer(request.timer);
    request.timer = undefined;
    const index = client.waiting.indexOf(request);
    if (index >= 0) client.waiting.splice(index, 1);
    if (client.active === request) {
      client.active = undefined;
      // Cancelling the exchange frees the client's CoAP slot; its callback is ignored (done is set).
      if (error) request.cancel?.();
    }
    if (error) request.reject(error);
    else request.resolve(value);
  }
}
