import type { HalError } from "../../hal/errors.js";
import { isNumericAddress } from "../../hal/net.js";
import type { Peer } from "../coap/message.js";

/** A parsed LwM2M server URI: coap://host[:port] or coaps://host[:port]. */
export interface ServerUri {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

export function parseServerUri(uri: string): ServerUri | undefined {
  const match = /^(coaps?):\/\/(\[[0-9a-fA-F:.]+\]|[^:/?#\s]+)(?::([0-9]{1,5}))?\/?$/.exec(uri);
  if (!match) return undefined;
  const secure = match[1] === "coaps";
  const port = match[3] === undefined ? (secure ? 5684 : 5683) : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  const host = match[2]!.replace(/^\[|\]$/g, "");
  return { secure, host, port };
}

export type Resolver = (host: string, callback: (error: HalError | undefined, address?: string) => void) => void;

/** The peer of a server URI: numeric hosts at once, names through `resolve` (the HAL net's). */
export function resolvePeer(uri: ServerUri, resolve: Resolver | undefined, then: (peer: Peer) => void, onError: (message: string) => void): void {
  const { host, port } = uri;
  if (isNumericAddress(host) || !resolve) return then({ address: host, port });
  resolve(host, (error, address) => {
    if (error || !address) onError(error?.message ?? `cannot resolve ${host}`);
    else then({ address, port });
  });
}
