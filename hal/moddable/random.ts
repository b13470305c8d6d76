import RNG from "rng";
import type { RandomSource } from "../random.js";

/**
 * Random bytes from the SDK's "rng" module (RC4 seeded with 16 bytes of the
 * platform's c_rand()). c_rand() is esp_random(), a hardware generator, on
 * ESP32, but rand() on Zephyr and in the simulator, never seeded there: the
 * same bytes after every start. Only a fallback for builds without the mbedtls
 * binding (the simulator on macOS and Windows).
 */
export const sdkRandom: RandomSource = Object.freeze({
  fill(target: Uint8Array): void {
    target.set(new Uint8Array(RNG.get(target.length)));
  },
});

/**
 * The port's random source: mbedtls's CTR-DRBG seeded by the platform's
 * entropy source (module "dtls/engine": ESP32, Zephyr and the Linux
 * simulator), else the SDK's "rng".
 */
export function moddableRandom(dtlsRandom: RandomSource | undefined): RandomSource {
  return dtlsRandom ?? sdkRandom;
}
