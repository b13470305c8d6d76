import type { DtlsEngine } from "../../hal/dtls.js";
import type { RandomSource } from "../../hal/random.js";

/**
 * Module "dtls/engine": the binding (native.js) in builds that link it; the
 * host runner generates a module exporting undefined for the stock XS worker.
 */
export declare const dtlsEngine: DtlsEngine | undefined;
/** The binding's CTR-DRBG as a random source (native.js); undefined without the binding. */
export declare const dtlsRandom: RandomSource | undefined;
