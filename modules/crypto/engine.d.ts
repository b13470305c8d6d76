import type { CryptoEngine } from "../../hal/crypto.js";

/**
 * Module "crypto/engine": the binding (native.js) in builds that link it; the
 * host runner generates a module exporting undefined for the stock XS worker,
 * and hal/moddable/no-crypto stands for it on the macOS and Windows simulators.
 */
export declare const cryptoEngine: CryptoEngine | undefined;
