/*
 * XS binding of crypto-core: the SHA-256 host class and verifyP256 of
 * native.js. No script runs inside these functions, so buffer pointers taken
 * from arguments stay valid while C reads them.
 */
#include "xsmc.h"
#include "crypto-core.h"

#include <string.h>

void xs_crypto_sha256_destructor(void* data)
{
	crypto_sha256_free(data);
}

void xs_crypto_sha256(xsMachine* the)
{
	crypto_sha256* hash = crypto_sha256_new();
	if (!hash)
		xsUnknownError("SHA-256: out of memory");
	xsmcSetHostData(xsThis, hash);
}

/* The running hash, or a TypeError once digest() has ended it. */
static crypto_sha256* running(xsMachine* the)
{
	crypto_sha256* hash = xsmcGetHostData(xsThis);
	if (!hash)
		xsTypeError("SHA-256: digest() already ended this hash");
	return hash;
}

void xs_crypto_sha256_update(xsMachine* the)
{
	crypto_sha256* hash = running(the);
	void* bytes;
	xsUnsignedValue count;
	xsmcGetBufferReadable(xsArg(0), &bytes, &count);
	if (crypto_sha256_update(hash, bytes, count) != CRYPTO_VALID)
		xsUnknownError("SHA-256: update failed");
}

/* finish(): the hash as an ArrayBuffer; the C context is freed at once. */
void xs_crypto_sha256_finish(xsMachine* the)
{
	crypto_sha256* hash = running(the);
	uint8_t out[CRYPTO_SHA256_BYTES];
	crypto_status status = crypto_sha256_finish(hash, out);
	xsmcSetHostData(xsThis, NULL);
	crypto_sha256_free(hash);
	if (status != CRYPTO_VALID)
		xsUnknownError("SHA-256: finish failed");
	xsmcSetArrayBuffer(xsResult, out, sizeof(out));
}

/* Copies argument `index` into `target` when it is a buffer of exactly `length` bytes. */
static int take(xsMachine* the, int index, uint8_t* target, size_t length)
{
	if (index >= xsmcArgc || xsmcTypeOf(xsArg(index)) != xsReferenceType)
		return 0;
	void* bytes = NULL;
	xsUnsignedValue count = 0;
	int ok = 1;
	xsTry {
		xsmcGetBufferReadable(xsArg(index), &bytes, &count);
	}
	xsCatch {
		ok = 0;
	}
	if (!ok || count != length)
		return 0;
	memcpy(target, bytes, length);
	return 1;
}

/* verifyP256(publicKey, digest, signature): false for anything that is not a valid signature; throws only when out of memory. */
void xs_crypto_verify_p256(xsMachine* the)
{
	uint8_t key[CRYPTO_P256_PUBLIC_KEY_BYTES];
	uint8_t digest[CRYPTO_SHA256_BYTES];
	uint8_t signature[CRYPTO_P256_SIGNATURE_BYTES];
	crypto_status status = CRYPTO_INVALID;
	if (take(the, 0, key, sizeof(key)) && take(the, 1, digest, sizeof(digest)) && take(the, 2, signature, sizeof(signature)))
		status = crypto_verify_p256(key, sizeof(key), digest, sizeof(digest), signature, sizeof(signature));
	if (status == CRYPTO_NO_MEMORY)
		xsUnknownError("ECDSA P-256: out of memory, nothing verified");
	if (status == CRYPTO_FAILED)
		xsUnknownError("ECDSA P-256: the verification could not run");
	xsmcSetBoolean(xsResult, status == CRYPTO_VALID);
}
