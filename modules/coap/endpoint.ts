import type { Logger } from "../../hal/log.js";
import type { MemoryBudget } from "../../hal/memory.js";
import type { RandomSource } from "../../hal/random.js";
import type { Time } from "../../hal/time.js";
import { ClientExchanges, type ObserveHandle, type RequestHandle, type RequestOptions, type ResponseCallback } from "./client-exchanges.js";
import type { CoapMessage } from "./message.js";
import { MessageLayer, type EndpointStats } from "./message-layer.js";
import type { Observer } from "./observers.js";
import { resolveParameters, type CoapParameters } from "./params.js";
import { ServerExchanges, type HandlerOptions, type RequestHandler } from "./server-exchanges.js";
import type { CoapTransport } from "./transport.js";

export type { ObserveHandle, RequestHandle, RequestOptions, ResponseCallback } from "./client-exchanges.js";
export { describe } from "./message.js";
export type { EndpointStats } from "./message-layer.js";
export type { OutgoingResponse } from "./response.js";
export type { HandlerOptions, IncomingRequest, RequestHandler, ServerExchange } from "./server-exchanges.js";
export type { Block1Info } from "./block1-streams.js";

export interface CoapEndpointOptions {
  readonly transport: CoapTransport;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  readonly parameters?: Partial<CoapParameters>;
  /**
   * The memory budget that holds each CON message while it may be
   * retransmitted; when it is exhausted the request fails with "limit"
   * instead of growing the heap. Without one, plain heap copies are kept.
   */
  readonly memory?: MemoryBudget;
}

/**
 * A CoAP endpoint (RFC 7252) acting as client and server over one transport:
 * reliability (CON retransmission with exponential back-off, deduplication
 * with reply replay), NSTART per peer with a bounded queue, piggybacked and
 * separate responses, observe (RFC 7641) on both sides, and block-wise
 * transfers (RFC 7959) on the server side; client block-wise transfers are in
 * blockwise-client.ts.
 *
 * It composes three layers: message-layer.ts below hands new requests up to
 * server-exchanges.ts and new responses to client-exchanges.ts.
 */
export class CoapEndpoint {
  readonly parameters: CoapParameters;
  readonly stats: EndpointStats = { sent: 0, received: 0, retransmissions: 0, duplicates: 0, malformed: 0, rejected: 0, timeouts: 0, internalErrors: 0 };
  private readonly messages: MessageLayer;
  private readonly client: ClientExchanges;
  private readonly server: ServerExchanges;

  constructor(options: CoapEndpointOptions) {
    this.parameters = resolveParameters(options.parameters);
    const { time, random, log } = options;
    this.messages = new MessageLayer(
      { transport: options.transport, time, random, log, memory: options.memory, parameters: this.parameters, stats: this.stats },
      {
        onRequest: (message, peer, dedupKey) => this.server.receiveRequest(message, peer, dedupKey),
        onResponse: (message, peer, dedupKey) => this.client.receiveResponse(message, peer, dedupKey),
        onReset: (messageId, peer) => this.server.observers.receiveReset(peer, messageId),
      },
    );
    this.client = new ClientExchanges(this.parameters, time, random, log, this.messages);
    this.server = new ServerExchanges(this.parameters, time, log, this.messages);
  }

  get localPort(): number {
    return this.messages.localPort;
  }

  /** Largest message this endpoint sends: the configured limit or the transport's, whichever is smaller. */
  get maxMessageSize(): number {
    return this.messages.maxMessageSize;
  }

  /** Installs the request handler (the server side). */
  setHandler(handler: RequestHandler, options?: HandlerOptions): void {
    this.server.setHandler(handler, options);
  }

  /**
   * Numbers of the live client exchanges, observers, deduplication entries,
   * block transfers (Block1 reassemblies and cached Block2 representations)
   * and streamed Block1 transfers (tests and benchmarks check them).
   */
  get load(): { exchanges: number; pendingCons: number; observers: number; dedup: number; blockTransfers: number; streamedBlock1: number } {
    return {
      exchanges: this.client.count,
      pendingCons: this.messages.pendingCount,
      observers: this.server.observers.count,
      dedup: this.messages.dedupCount,
      blockTransfers: this.server.blocks.count,
      streamedBlock1: this.server.streams.count,
    };
  }

  /** Observers currently registered (server side). */
  listObservers(): Observer[] {
    return this.server.observers.list();
  }

  /** Sends a request; `callback` gets exactly one outcome (an error or the response). */
  request(options: RequestOptions, callback: ResponseCallback): RequestHandle {
    return this.client.request(options, callback);
  }

  /** Promise form of request(). */
  requestAsync(options: RequestOptions): Promise<CoapMessage> {
    return new Promise((resolve, reject) => {
      this.request(options, (error, response) => (error ? reject(error) : resolve(response!)));
    });
  }

  /**
   * Registers an observation (GET with Observe=0). `onNotification` gets the
   * first response and every fresh notification; it gets an error once when
   * the observation ends other than by cancel().
   */
  observe(options: Omit<RequestOptions, "method"> & { readonly method?: number }, onNotification: ResponseCallback): ObserveHandle {
    return this.client.observe(options, onNotification);
  }

  /** Stops every exchange and observation and releases the transport. */
  close(): void {
    if (this.messages.closed) return;
    this.client.close();
    this.server.close();
    this.messages.close();
  }
}
