import type { CryptoEngine } from "../../hal/crypto.js";

/** The mbedtls binding (native.js, crypto-xs.c); present only in XS builds that link it. */
export declare const cryptoEngine: CryptoEngine;
