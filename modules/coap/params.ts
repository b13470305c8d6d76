/**
 * Transmission parameters (RFC 7252 §4.8) and resource limits of one CoAP
 * endpoint. Every limit is enforced; the README lists them.
 */
export interface CoapParameters {
  /** Initial retransmission timeout of a CON message (ACK_TIMEOUT). */
  readonly ackTimeoutMs: number;
  /** The initial timeout is drawn from [ackTimeout, ackTimeout × factor] (ACK_RANDOM_FACTOR). */
  readonly ackRandomFactor: number;
  /** Retransmissions of a CON message before it fails (MAX_RETRANSMIT). */
  readonly maxRetransmit: number;
  /** Outstanding requests per peer (NSTART). */
  readonly nstart: number;
  /** Expected worst network latency (MAX_LATENCY), used in EXCHANGE_LIFETIME. */
  readonly maxLatencyMs: number;
  /** Largest datagram sent or accepted, in bytes. */
  readonly maxMessageSize: number;
  /** Requests waiting behind NSTART, per peer. */
  readonly maxQueuedPerPeer: number;
  /** Client exchanges (active and queued) across all peers. */
  readonly maxExchanges: number;
  /** Remembered incoming message IDs for deduplication. */
  readonly maxDedupEntries: number;
  /** The share of those one peer (address and port) may hold, so one sender cannot fill the table (the default leaves 16 to the others). */
  readonly maxDedupEntriesPerPeer: number;
  /** Observers this endpoint serves (RFC 7641). */
  readonly maxObservers: number;
  /** Largest body a Block1 reassembly accepts, in bytes (4.13 beyond). */
  readonly maxReassemblyBytes: number;
  /** Block1 reassemblies and Block2 representations kept at once. */
  readonly maxBlockTransfers: number;
  /** Preferred block size exponent for Block2 responses and uploads (6 = 1024 bytes). */
  readonly preferredSzx: number;
  /** A handler answering later than this gets an empty ACK first, then a separate response. */
  readonly piggybackWindowMs: number;
  /** How long a client waits for a separate response or a NON response. */
  readonly responseTimeoutMs: number;
  /** Notifications are sent as CON at least this often (RFC 7641 §4.5: 24 h). */
  readonly observeConIntervalMs: number;
}

export const DEFAULT_COAP_PARAMETERS: CoapParameters = Object.freeze({
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  nstart: 1,
  maxLatencyMs: 100000,
  maxMessageSize: 1152,
  maxQueuedPerPeer: 8,
  maxExchanges: 32,
  maxDedupEntries: 64,
  maxDedupEntriesPerPeer: 48,
  maxObservers: 16,
  maxReassemblyBytes: 16384,
  maxBlockTransfers: 4,
  preferredSzx: 6,
  piggybackWindowMs: 1000,
  responseTimeoutMs: 93000,
  observeConIntervalMs: 24 * 3600 * 1000,
});

/** MAX_TRANSMIT_SPAN: first transmission to last retransmission. */
export function maxTransmitSpanMs(p: CoapParameters): number {
  return p.ackTimeoutMs * (2 ** p.maxRetransmit - 1) * p.ackRandomFactor;
}

/** MAX_TRANSMIT_WAIT: first transmission to giving up. */
export function maxTransmitWaitMs(p: CoapParameters): number {
  return p.ackTimeoutMs * (2 ** (p.maxRetransmit + 1) - 1) * p.ackRandomFactor;
}

/** EXCHANGE_LIFETIME: how long a message ID is remembered (247 s with the defaults). */
export function exchangeLifetimeMs(p: CoapParameters): number {
  return maxTransmitSpanMs(p) + 2 * p.maxLatencyMs + p.ackTimeoutMs;
}

/** NON_LIFETIME (145 s with the defaults). */
export function nonLifetimeMs(p: CoapParameters): number {
  return maxTransmitSpanMs(p) + p.maxLatencyMs;
}

export function resolveParameters(overrides: Partial<CoapParameters> = {}): CoapParameters {
  const p: CoapParameters = { ...DEFAULT_COAP_PARAMETERS, ...overrides };
  const positive = ["ackTimeoutMs", "maxLatencyMs", "maxMessageSize", "maxExchanges", "maxDedupEntries", "maxDedupEntriesPerPeer", "nstart", "maxBlockTransfers", "responseTimeoutMs", "observeConIntervalMs"] as const;
  for (const key of positive) if (!(p[key] > 0)) throw new RangeError(`CoAP parameter ${key} must be positive, got ${p[key]}`);
  if (!(p.ackRandomFactor >= 1)) throw new RangeError(`ackRandomFactor must be at least 1, got ${p.ackRandomFactor}`);
  if (!(p.maxRetransmit >= 0 && p.maxRetransmit <= 20)) throw new RangeError(`maxRetransmit must be 0..20, got ${p.maxRetransmit}`);
  if (!(p.preferredSzx >= 0 && p.preferredSzx <= 6)) throw new RangeError(`preferredSzx must be 0..6, got ${p.preferredSzx}`);
  if (p.maxMessageSize < 64) throw new RangeError(`maxMessageSize must be at least 64 bytes`);
  if (!(p.maxQueuedPerPeer >= 0 && p.maxObservers >= 0 && p.maxReassemblyBytes >= 0 && p.piggybackWindowMs >= 0)) throw new RangeError("CoAP limits must not be negative");
  return Object.freeze(p);
}
