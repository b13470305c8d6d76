// Types of the Moddable SDK's modules/crypt/etc/rng (no typings ship for it).
declare const RNG: {
  get(byteLength: number): ArrayBuffer;
};
export default RNG;
