import RNG from "rng";
import type { RandomSource } from "../random.js";

/**
 * Random bytes from the SDK's "rng" module, the generator Moddable's own TLS
 * uses. Its seed comes from the platform's c_rand(): esp_random(), a hardware
 * generator, on ESP32. The DTLS transport brings mbedtls's CTR-DRBG for keys.
 */
export const moddableRandom: RandomSource = Object.freeze({
  fill(target: Uint8Array): void {
    target.set(new Uint8Array(RNG.get(target.length)));
  },
});
