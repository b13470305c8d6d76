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
