/**
 * The DTLS engine in Node: the N-API addon (dtls-napi.c) over the same C core
 * the XS worker and the devices run (modules/dtls/dtls-core.c). npm install
 * builds it into build-native/dtls-node.node; when it could not, the reason
 * is in build-native/dtls-node.status and loadNodeDtlsEngine() says it.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { DtlsEngine, DtlsNativeCallbacks, DtlsNativeOptions, DtlsNativeSession } from "../../../dtls.js";

/** The repository root, from build/hal/host/node/dtls/ (compiled) or hal/host/node/dtls/ (sources). */
const REPO_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fromBuild = path.resolve(here, "..", "..", "..", "..", "..");
  return fs.existsSync(path.join(fromBuild, "package.json")) ? fromBuild : path.resolve(here, "..", "..", "..", "..");
})();

export const NODE_DTLS_ADDON = path.join(REPO_ROOT, "build-native", "dtls-node.node");
const STATUS_FILE = path.join(REPO_ROOT, "build-native", "dtls-node.status");

/** What the addon exports: the session class (its callbacks are methods a subclass adds) and the engine's counters. */
interface Addon extends Omit<DtlsEngine, "createSession"> {
  readonly Session: new (options: DtlsNativeOptions) => DtlsNativeSession;
}

export type NodeDtlsLoad = { readonly engine: DtlsEngine; readonly missing?: undefined } | { readonly engine?: undefined; readonly missing: string };

let loaded: NodeDtlsLoad | undefined;

function engineOver(addon: Addon): DtlsEngine {
  // C calls these methods on the session only while one of its own methods runs.
  class NodeDtlsSession extends addon.Session implements DtlsNativeSession {
    // Set after the native constructor, which already calls onTimer once (a cancel): hence the "?.".
    private callbacks: DtlsNativeCallbacks | undefined;
    constructor(options: DtlsNativeOptions, callbacks: DtlsNativeCallbacks) {
      super(options);
      this.callbacks = callbacks;
    }
    onSend(datagram: ArrayBuffer): boolean {
      return this.callbacks?.send(datagram) ?? false;
    }
    onTimer(delayMs: number): void {
      this.callbacks?.setTimer(delayMs);
    }
    onData(plaintext: ArrayBuffer): void {
      this.callbacks?.deliver(plaintext);
    }
    onPskLookup(identity: ArrayBuffer): Uint8Array | ArrayBuffer | undefined {
      return this.callbacks?.pskLookup?.(identity);
    }
  }
  return Object.freeze({
    createSession: (options: DtlsNativeOptions, callbacks: DtlsNativeCallbacks) => new NodeDtlsSession(options, callbacks),
    liveSessions: () => addon.liveSessions(),
    liveResumes: () => addon.liveResumes(),
    heapInUse: () => addon.heapInUse(),
    connectionIdSupported: () => addon.connectionIdSupported(),
  });
}

/** Loads the addon once; without it, `missing` says why (and how to get it). */
export function loadNodeDtlsEngine(): NodeDtlsLoad {
  if (loaded) return loaded;
  if (!fs.existsSync(NODE_DTLS_ADDON)) {
    const reason = fs.existsSync(STATUS_FILE) ? fs.readFileSync(STATUS_FILE, "utf8").trim() : "it was not built";
    loaded = { missing: `the Node DTLS addon is missing (${reason}); build it with npm run build:addon` };
    return loaded;
  }
  try {
    loaded = { engine: engineOver(createRequire(import.meta.url)(NODE_DTLS_ADDON) as Addon) };
  } catch (error) {
    loaded = { missing: `the Node DTLS addon ${path.relative(process.cwd(), NODE_DTLS_ADDON)} does not load: ${(error as Error).message}` };
  }
  return loaded;
}

/** The engine, or an error naming what is missing: for code that was asked for DTLS. */
export function requireNodeDtlsEngine(): DtlsEngine {
  const load = loadNodeDtlsEngine();
  if (!load.engine) throw new Error(`DTLS is not available in Node: ${load.missing}`);
  return load.engine;
}
