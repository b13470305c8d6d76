import type { DtlsEngine } from "../../hal/dtls.js";

/** The mbedtls binding (native.js, dtls-xs.c); present only in XS builds that link it. */
export declare const dtlsEngine: DtlsEngine;
