import type { DtlsEngine } from "../../hal/dtls.js";
import type { Platform } from "../../hal/platform.js";
import type { DtlsError } from "../../modules/dtls/errors.js";
import { DtlsSession, type DtlsSessionOptions } from "../../modules/dtls/session.js";

export const IDENTITY = new Uint8Array([0x64, 0x65, 0x76, 0x31]); // "dev1"
export const KEY = new Uint8Array([0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x30]);

let warned = false;

/** The platform's DTLS engine, or undefined (Node, the stock XS worker) after saying once why the tests skip. */
export function engineOf(platform: Platform): DtlsEngine | undefined {
  if (!platform.dtls && !warned) {
    warned = true;
    platform.log.warn("dtls suite skipped: no native DTLS binding here (it runs inside XS on the DTLS worker that npm install builds)");
  }
  return platform.dtls;
}

/** What one end of a pipe saw. */
export interface End {
  readonly session: DtlsSession;
  readonly received: Uint8Array[];
  readonly errors: DtlsError[];
  connected: boolean;
}

/**
 * A client and a server session joined by an in-memory datagram pipe.
 * Datagrams cross on a later turn (never from inside a native call), and
 * `drop` may swallow some of them.
 */
export function pipe(
  platform: Platform,
  engine: DtlsEngine,
  client: Omit<DtlsSessionOptions, "role">,
  server: Omit<DtlsSessionOptions, "role">,
  drop: (fromClient: boolean, datagram: Uint8Array) => boolean = () => false,
): { client: End; server: End } {
  const make = (role: "client" | "server", options: Omit<DtlsSessionOptions, "role">, deliverTo: () => End): End => {
    const end: End = {
      received: [],
      errors: [],
      connected: false,
      session: new DtlsSession(engine, platform.time, { ...options, role }, {
        send: (datagram) => {
          if (drop(role === "client", datagram)) return true;
          const copy = datagram.slice();
          void Promise.resolve().then(() => deliverTo().session.receive(copy));
          return true;
        },
        onConnected: () => (end.connected = true),
        onData: (plaintext) => end.received.push(plaintext),
        onError: (error) => end.errors.push(error),
      }),
    };
    return end;
  };
  const ends: { client?: End; server?: End } = {};
  ends.server = make("server", server, () => ends.client!);
  ends.client = make("client", client, () => ends.server!);
  return { client: ends.client, server: ends.server };
}

/** A server's PSK table lookup. */
export function lookupOf(identity: Uint8Array, key: Uint8Array): (asked: Uint8Array) => Uint8Array | undefined {
  return (asked) => (asked.length === identity.length && asked.every((byte, i) => byte === identity[i]) ? key : undefined);
}

export function text(value: string): Uint8Array {
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i) & 0xff;
  return bytes;
}
