import type { DtlsEngine } from "../dtls.js";
import type { RandomSource } from "../random.js";

/**
 * Module "dtls/engine" on targets built without the mbedtls binding (the
 * simulator on macOS and Windows): no DTLS engine, so coaps:// is refused,
 * and the random source stays the SDK's "rng".
 */
export const dtlsEngine: DtlsEngine | undefined = undefined;
export const dtlsRandom: RandomSource | undefined = undefined;
