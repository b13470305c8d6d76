import type { DtlsEngine } from "../../hal/dtls.js";

/**
 * Module "dtls/engine": the binding (native.js) in builds that link it; the
 * host runner generates a module exporting undefined for the stock XS worker.
 */
export declare const dtlsEngine: DtlsEngine | undefined;
