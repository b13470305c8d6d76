import type { Time } from "../../hal/time.js";
import { blockSize, type BlockOption } from "./block.js";
import { codeClass, ResponseCode } from "./constants.js";
import { requestKey } from "./block-transfers.js";
import type { CoapMessage, Peer } from "./message.js";
import { exchangeLifetimeMs, type CoapParameters } from "./params.js";
import type { OutgoingResponse } from "./response.js";

/** Where a streamed Block1 block sits in its request body (RFC 7959 §2.5). */
export interface Block1Info {
  /** Byte offset of this block's payload in the whole body. */
  readonly offset: number;
  /** More blocks follow. */
  readonly more: boolean;
  /** The block's size exponent: 2^(szx+4) bytes. */
  readonly szx: number;
}

/** One block handed to the handler, and how its answer settles the transfer. */
export interface StreamedBlock {
  readonly info: Block1Info;
  /**
   * The handler's answer to this block, as it goes out: a 2.xx to a block
   * with more to follow becomes 2.31 Continue (the transfer moves on), a
   * 2.xx to the last block ends the transfer, anything else ends it too.
   */
  settle(response: OutgoingResponse): OutgoingResponse;
}

export type StreamOutcome = { readonly kind: "deliver"; readonly block: StreamedBlock } | { readonly kind: "incomplete" } | { readonly kind: "busy" };

interface Transfer {
  /** Offset the next block must start at: where the last accepted block ended. */
  next: number;
  expiresAt: number;
}

const CONTINUE: OutgoingResponse = Object.freeze({ code: ResponseCode.Continue });

/**
 * Block1 requests the handler takes block by block instead of reassembled:
 * no body is kept here, only where each transfer stands, so the blocks reach
 * the handler contiguously and in order. Block 0 starts (or restarts) a
 * transfer; a later block must start where the last accepted one ended
 * (else 4.08 and the transfer is dropped). Keys and lifetime are those of
 * reassembly (peer, method, URI, Accept; EXCHANGE_LIFETIME after the last
 * block); at most maxBlockTransfers transfers at once (5.03 beyond).
 */
export class Block1Streams {
  private readonly parameters: CoapParameters;
  private readonly time: Time;
  private readonly transfers = new Map<string, Transfer>();

  constructor(parameters: CoapParameters, time: Time) {
    this.parameters = parameters;
    this.time = time;
  }

  get count(): number {
    return this.transfers.size;
  }

  /** Whether a transfer of this request is under way (a later block belongs to it). */
  has(peer: Peer, message: CoapMessage): boolean {
    const transfer = this.transfers.get(requestKey(peer, message));
    return transfer !== undefined && transfer.expiresAt > this.time.monotonicMs();
  }

  receive(peer: Peer, message: CoapMessage, block: BlockOption): StreamOutcome {
    const key = requestKey(peer, message);
    const now = this.time.monotonicMs();
    const size = blockSize(block.szx);
    const offset = block.num * size;
    if (block.more && message.payload.length !== size) {
      this.transfers.delete(key);
      return { kind: "incomplete" };
    }
    let transfer = this.transfers.get(key);
    if (transfer && transfer.expiresAt <= now) {
      this.transfers.delete(key);
      transfer = undefined;
    }
    if (block.num === 0) {
      if (!transfer) {
        this.expire(now);
        if (this.transfers.size >= this.parameters.maxBlockTransfers) return { kind: "busy" };
      }
      transfer = { next: 0, expiresAt: now + exchangeLifetimeMs(this.parameters) };
      this.transfers.set(key, transfer);
    }
    if (!transfer || offset !== transfer.next) {
      this.transfers.delete(key);
      return { kind: "incomplete" };
    }
    const entry = transfer;
    const info: Block1Info = { offset, more: block.more, szx: block.szx };
    const end = message.payload.length;
    return {
      kind: "deliver",
      block: {
        info,
        settle: (response) => {
          // A transfer restarted or dropped meanwhile is not this block's to move.
          const current = this.transfers.get(key) === entry;
          const accepted = codeClass(response.code) === 2;
          if (!accepted || !block.more) {
            if (current) this.transfers.delete(key);
            return response;
          }
          if (current) {
            entry.next = offset + end;
            entry.expiresAt = this.time.monotonicMs() + exchangeLifetimeMs(this.parameters);
          }
          return CONTINUE;
        },
      },
    };
  }

  clear(): void {
    this.transfers.clear();
  }

  private expire(now: number): void {
    for (const [key, transfer] of this.transfers) if (transfer.expiresAt <= now) this.transfers.delete(key);
  }
}
