/**
 * The development server's observations: one per client and path, each
 * response and notification completed block-wise (RFC 7959 §2.6) before it
 * is decoded, dropped with the registration they belong to, and bounded.
 */
import { OptionNumber } from "../../modules/coap/constants.js";
import type { CoapEndpoint, ObserveHandle } from "../../modules/coap/endpoint.js";
import type { CoapError } from "../../modules/coap/errors.js";
import { getUintOption, type CoapMessage, type Peer } from "../../modules/coap/message.js";
import { completeBlock2, type Cancellable } from "./dm-client.js";

/** Observations held at once, across clients. */
export const MAX_OBSERVATIONS = 1024;

interface Observation {
  readonly endpoint: string;
  readonly path: string;
  readonly accept: number | undefined;
  readonly handle: ObserveHandle;
  /** The Block2 follow-up of the newest notification, while it runs. */
  followUp: Cancellable | undefined;
}

/** A response or notification made whole: code, format and every block's payload. */
export interface WholeResponse {
  readonly code: number;
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
}

export interface ObservationCallbacks {
  /** A notification after the first response, made whole. */
  notification(endpoint: string, path: string, response: WholeResponse): void;
  /** A notification whose remaining blocks could not be fetched (it is dropped). */
  lost(endpoint: string, path: string, error: CoapError): void;
}

export class ObservationTable {
  private readonly endpoint: CoapEndpoint;
  private readonly callbacks: ObservationCallbacks;
  private readonly table = new Map<string, Observation>();

  constructor(endpoint: CoapEndpoint, callbacks: ObservationCallbacks) {
    this.endpoint = endpoint;
    this.callbacks = callbacks;
  }

  /**
   * Observes `path` on a client (replacing an observation of the same path);
   * resolves with the first response made whole. A first response without
   * Observe (an error, or a client that does not observe) ends it.
   */
  observe(endpoint: string, peer: Peer, path: string, accept: number | undefined): Promise<WholeResponse> {
    const key = `${endpoint} ${path}`;
    this.forget(key, false);
    if (this.table.size >= MAX_OBSERVATIONS) return Promise.reject(new Error(`${MAX_OBSERVATIONS} observations are held: cancel some first`));
    return new Promise((resolve, reject) => {
      // Settled by the first response made whole, or by a newer notification that superseded its blocks.
      let settled = false;
      let handle: ObserveHandle | undefined;
      const request = { peer, path, ...(accept !== undefined ? { accept } : {}) };
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const onResponse = (error: CoapError | undefined, response?: CoapMessage) => {
        const current = this.table.get(key);
        const mine = current !== undefined && handle !== undefined && current.handle === handle;
        if (error) {
          if (mine) this.forget(key, false);
          return fail(error);
        }
        const reply = response!;
        // A first response without Observe (an error, or no observe support) ends the observation.
        if (!settled && getUintOption(reply, OptionNumber.Observe) === undefined && mine) this.forget(key, false);
        const observation = mine && this.table.get(key) === current ? current : undefined;
        if (settled && !observation) return;
        // A newer notification supersedes the blocks still being fetched for an older one.
        observation?.followUp?.cancel();
        let followUp: Cancellable | undefined;
        let finished = false;
        const kept = () => observation !== undefined && this.table.get(key) === observation;
        followUp = completeBlock2(this.endpoint, request, reply, (blockError, payload) => {
          finished = true;
          if (observation && observation.followUp === followUp) observation.followUp = undefined;
          if (blockError) {
            if (blockError.kind === "cancelled" && kept()) return; // superseded: the newer response settles or notifies
            if (!settled) {
              if (kept()) this.forget(key, false);
              return fail(blockError);
            }
            if (blockError.kind !== "cancelled") this.callbacks.lost(endpoint, path, blockError);
            return;
          }
          const whole = { code: reply.code, contentFormat: getUintOption(reply, OptionNumber.ContentFormat), payload: payload! };
          if (!settled) {
            settled = true;
            resolve(whole);
          } else this.callbacks.notification(endpoint, path, whole);
        });
        // Blocks still to fetch: a newer notification or a cancel stops them.
        if (!finished && kept()) observation!.followUp = followUp;
      };
      handle = this.endpoint.observe(request, onResponse);
      // An observation refused at once (no exchange free) has already failed.
      if (!settled) this.table.set(key, { endpoint, path, accept, handle, followUp: undefined });
    });
  }

  /** Ends an observation: proactively (GET with Observe=1) or by forgetting it (the next notification gets RST). */
  cancel(endpoint: string, path: string, proactive: boolean): boolean {
    return this.forget(`${endpoint} ${path}`, proactive);
  }

  /** Forgets every observation of a client (deregistered, expired, or registered anew); returns how many. */
  dropClient(endpoint: string): number {
    let dropped = 0;
    for (const observation of Array.from(this.table.values())) {
      if (observation.endpoint === endpoint && this.forget(`${observation.endpoint} ${observation.path}`, false)) dropped++;
    }
    return dropped;
  }

  list(): { endpoint: string; path: string; accept?: number }[] {
    return Array.from(this.table.values(), (o) => ({ endpoint: o.endpoint, path: o.path, ...(o.accept !== undefined ? { accept: o.accept } : {}) }));
  }

  /** Forgets everything without a message (the endpoint is closing). */
  clear(): void {
    for (const observation of this.table.values()) observation.followUp?.cancel();
    this.table.clear();
  }

  private forget(key: string, proactive: boolean): boolean {
    const observation = this.table.get(key);
    if (!observation) return false;
    this.table.delete(key);
    observation.followUp?.cancel();
    observation.handle.cancel(proactive);
    return true;
  }
}
