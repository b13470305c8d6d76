// The mbedtls crypto binding (crypto-xs.c, crypto-core.c). Plain JavaScript:
// TypeScript cannot parse host declarations ("@"); native.d.ts describes this module.

class HostSha256 @ "xs_crypto_sha256_destructor" {
	constructor() @ "xs_crypto_sha256";
	update(data) @ "xs_crypto_sha256_update";
	finish() @ "xs_crypto_sha256_finish";
}

function verifyP256(publicKey, digest, signature) @ "xs_crypto_verify_p256";

// digest() ends the hash and frees its C context; update() or digest() after it throw.
class NativeSha256 extends HostSha256 {
	digest() {
		return new Uint8Array(this.finish());
	}
}

export const cryptoEngine = Object.freeze({
	createSha256: () => new NativeSha256(),
	verifyP256,
});
