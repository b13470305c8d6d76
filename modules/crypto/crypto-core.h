/*
 * SHA-256 and ECDSA P-256 verification over mbedtls, with no engine of its
 * own: crypto-xs.c binds it to XS. Every version difference is in
 * crypto-compat.h.
 */
#ifndef CRYPTO_CORE_H
#define CRYPTO_CORE_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_BYTES 32
#define CRYPTO_P256_PUBLIC_KEY_BYTES 65
#define CRYPTO_P256_SIGNATURE_BYTES 64

typedef enum {
	CRYPTO_VALID = 1,
	/* A signature that does not verify, or input that cannot be one (wrong length, point not on the curve, r or s out of range). */
	CRYPTO_INVALID = 0,
	/* mbedtls could not allocate what it needed: nothing was decided. */
	CRYPTO_NO_MEMORY = -1,
	/* The hash could not run (a hardware engine's failure). */
	CRYPTO_FAILED = -2,
} crypto_status;

typedef struct crypto_sha256 crypto_sha256;

/* A started SHA-256, or NULL when out of memory. */
crypto_sha256* crypto_sha256_new(void);
crypto_status crypto_sha256_update(crypto_sha256* hash, const uint8_t* data, size_t length);
/* Writes the hash; the object is spent afterwards (free it). */
crypto_status crypto_sha256_finish(crypto_sha256* hash, uint8_t out[CRYPTO_SHA256_BYTES]);
/* Frees a hash, finished or not; NULL is ignored. */
void crypto_sha256_free(crypto_sha256* hash);

/*
 * Verifies an ECDSA P-256 signature (r ‖ s, big-endian) over a SHA-256
 * digest with an uncompressed public key (0x04 ‖ X ‖ Y). Lengths other than
 * 65, 32 and 64 are CRYPTO_INVALID.
 */
crypto_status crypto_verify_p256(const uint8_t* public_key, size_t public_key_length, const uint8_t* digest, size_t digest_length,
	const uint8_t* signature, size_t signature_length);

#endif
