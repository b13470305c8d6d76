import type { DtlsEngine } from "../../hal/dtls.js";
import type { RandomSource } from "../../hal/random.js";

/** The mbedtls binding (native.js, dtls-xs.c); present only in XS builds that link it. */
export declare const dtlsEngine: DtlsEngine;
/** Bytes from the binding's shared CTR-DRBG (PSA's generator with mbedtls 4.0). */
export declare const dtlsRandom: RandomSource;
