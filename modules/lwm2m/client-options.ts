import type { Logger } from "../../hal/log.js";
import type { MemoryBudget } from "../../hal/memory.js";
import type { RandomSource } from "../../hal/random.js";
import type { SettingsStore } from "../../hal/storage.js";
import type { Time } from "../../hal/time.js";
import type { NotifyOutcome, Observer } from "../coap/observers.js";
import type { CoapParameters } from "../coap/params.js";
import type { CoapTransport } from "../coap/transport.js";
import type { LwM2mDtlsOptions } from "./account-transport.js";
import type { ObjectStore } from "./model/object-store.js";
import type { LwM2mPath } from "./path.js";
import type { LifecycleEvent } from "./registration.js";
import type { BootstrapConfig, ServerConfig } from "./server-accounts.js";
import type { Resolver } from "./server-uri.js";

/** What `new LwM2mClient(options)` takes (see client.ts). */
export interface LwM2mClientOptions {
  readonly endpointName: string;
  /** The datagram socket; servers in PSK mode (coaps://) are reached over DTLS on it. */
  readonly transport: CoapTransport;
  /** DTLS for PSK accounts; without it a coaps:// account is refused (factory: at construction; bootstrap: Finish 4.06). */
  readonly dtls?: LwM2mDtlsOptions;
  readonly time: Time;
  readonly random: RandomSource;
  readonly log?: Logger;
  /** Host-name resolution (the HAL net's resolve); numeric addresses need none. */
  readonly resolve?: Resolver;
  /** Factory-provisioned LwM2M servers. */
  readonly servers?: readonly ServerConfig[];
  readonly bootstrap?: BootstrapConfig;
  /** Where a bootstrapped configuration is kept across restarts. */
  readonly settings?: SettingsStore;
  /** LwM2M version announced (default 1.1). */
  readonly version?: "1.0" | "1.1";
  /** Sequence mode: consecutive failed registrations before falling back to bootstrap (default 3). */
  readonly bootstrapAfterFailures?: number;
  /** Objects to serve; by default every standard object, without instances beyond /0 and /1. */
  readonly store?: ObjectStore;
  readonly coap?: Partial<CoapParameters>;
  /** Memory budget for CON messages awaiting their ACK (the platform's `memory`). */
  readonly memory?: MemoryBudget;
  /** Notifications of this path go as CON (default: every notification is CON). */
  readonly confirmableNotifications?: (path: LwM2mPath) => boolean;
  readonly onEvent?: (event: LifecycleEvent) => void;
  readonly onNotified?: (path: LwM2mPath, outcome: NotifyOutcome, observer: Observer) => void;
  readonly onSubscribed?: (path: LwM2mPath, subscribed: boolean) => void;
  /** Queue mode (binding UQ): stop listening after this long without traffic (default 93 s, MAX_TRANSMIT_WAIT). */
  readonly queueIdleMs?: number;
}
