/*
 * SHA-256 and ECDSA P-256 verification for firmware packages, on the mbedtls
 * the DTLS binding links (crypto-compat.h has the version switches).
 */
#include "crypto-compat.h"
#include "crypto-core.h"

#include <stdlib.h>
#include <string.h>

struct crypto_sha256 {
	crypto_sha256_context context;
};

#if CRYPTO_USE_PSA

crypto_sha256* crypto_sha256_new(void)
{
	if (psa_crypto_init() != PSA_SUCCESS)
		return NULL;
	crypto_sha256* hash = calloc(1, sizeof(crypto_sha256));
	if (!hash)
		return NULL;
	hash->context = psa_hash_operation_init();
	if (psa_hash_setup(&hash->context, PSA_ALG_SHA_256) != PSA_SUCCESS) {
		psa_hash_abort(&hash->context);
		free(hash);
		return NULL;
	}
	return hash;
}

crypto_status crypto_sha256_update(crypto_sha256* hash, const uint8_t* data, size_t length)
{
	return psa_hash_update(&hash->context, data, length) == PSA_SUCCESS ? CRYPTO_VALID : CRYPTO_FAILED;
}

crypto_status crypto_sha256_finish(crypto_sha256* hash, uint8_t out[CRYPTO_SHA256_BYTES])
{
	size_t length = 0;
	psa_status_t status = psa_hash_finish(&hash->context, out, CRYPTO_SHA256_BYTES, &length);
	return status == PSA_SUCCESS && length == CRYPTO_SHA256_BYTES ? CRYPTO_VALID : CRYPTO_FAILED;
}

void crypto_sha256_free(crypto_sha256* hash)
{
	if (!hash)
		return;
	psa_hash_abort(&hash->context);
	free(hash);
}

static crypto_status verify(const uint8_t* public_key, const uint8_t* digest, const uint8_t* signature)
{
	if (psa_crypto_init() != PSA_SUCCESS)
		return CRYPTO_FAILED;
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_set_key_type(&attributes, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&attributes, 256);
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_VERIFY_HASH);
	psa_set_key_algorithm(&attributes, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	psa_key_id_t key = 0;
	psa_status_t status = psa_import_key(&attributes, public_key, CRYPTO_P256_PUBLIC_KEY_BYTES, &key);
	psa_reset_key_attributes(&attributes);
	if (status == PSA_ERROR_INSUFFICIENT_MEMORY)
		return CRYPTO_NO_MEMORY;
	if (status != PSA_SUCCESS)
		return CRYPTO_INVALID; /* not a point on the curve */
	status = psa_verify_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), digest, CRYPTO_SHA256_BYTES, signature, CRYPTO_P256_SIGNATURE_BYTES);
	psa_destroy_key(key);
	if (status == PSA_SUCCESS)
		return CRYPTO_VALID;
	return status == PSA_ERROR_INSUFFICIENT_MEMORY ? CRYPTO_NO_MEMORY : CRYPTO_INVALID;
}

#else

crypto_sha256* crypto_sha256_new(void)
{
	crypto_sha256* hash = calloc(1, sizeof(crypto_sha256));
	if (!hash)
		return NULL;
	mbedtls_sha256_init(&hash->context);
	if (CRYPTO_SHA256_STARTS(&hash->context) != 0) {
		crypto_sha256_free(hash);
		return NULL;
	}
	return hash;
}

crypto_status crypto_sha256_update(crypto_sha256* hash, const uint8_t* data, size_t length)
{
	return CRYPTO_SHA256_UPDATE(&hash->context, data, length) == 0 ? CRYPTO_VALID : CRYPTO_FAILED;
}

crypto_status crypto_sha256_finish(crypto_sha256* hash, uint8_t out[CRYPTO_SHA256_BYTES])
{
	return CRYPTO_SHA256_FINISH(&hash->context, out) == 0 ? CRYPTO_VALID : CRYPTO_FAILED;
}

void crypto_sha256_free(crypto_sha256* hash)
{
	if (!hash)
		return;
	mbedtls_sha256_free(&hash->context);
	free(hash);
}

/* Allocation failures decide nothing; every other refusal is a signature that does not verify. */
static crypto_status status_of(int error)
{
	if (error == 0)
		return CRYPTO_VALID;
	if (error == MBEDTLS_ERR_MPI_ALLOC_FAILED || error == MBEDTLS_ERR_ECP_ALLOC_FAILED)
		return CRYPTO_NO_MEMORY;
	return CRYPTO_INVALID;
}

static crypto_status verify(const uint8_t* public_key, const uint8_t* digest, const uint8_t* signature)
{
	mbedtls_ecp_group group;
	mbedtls_ecp_point point;
	mbedtls_mpi r, s;
	mbedtls_ecp_group_init(&group);
	mbedtls_ecp_point_init(&point);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	int error = mbedtls_ecp_group_load(&group, MBEDTLS_ECP_DP_SECP256R1);
	if (error == 0)
		error = mbedtls_ecp_point_read_binary(&group, &point, public_key, CRYPTO_P256_PUBLIC_KEY_BYTES);
	/* On the curve and not the point at infinity (mbedtls_ecdsa_verify checks it too; this does not rely on it). */
	if (error == 0)
		error = mbedtls_ecp_check_pubkey(&group, &point);
	if (error == 0)
		error = mbedtls_mpi_read_binary(&r, signature, CRYPTO_P256_SIGNATURE_BYTES / 2);
	if (error == 0)
		error = mbedtls_mpi_read_binary(&s, signature + CRYPTO_P256_SIGNATURE_BYTES / 2, CRYPTO_P256_SIGNATURE_BYTES / 2);
	/* r and s outside 1 .. n − 1 fail here with MBEDTLS_ERR_ECP_VERIFY_FAILED. */
	if (error == 0)
		error = mbedtls_ecdsa_verify(&group, digest, CRYPTO_SHA256_BYTES, &point, &r, &s);
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_ecp_point_free(&point);
	mbedtls_ecp_group_free(&group);
	return status_of(error);
}

#endif

crypto_status crypto_verify_p256(const uint8_t* public_key, size_t public_key_length, const uint8_t* digest, size_t digest_length,
	const uint8_t* signature, size_t signature_length)
{
	if (!public_key || !digest || !signature)
		return CRYPTO_INVALID;
	if (public_key_length != CRYPTO_P256_PUBLIC_KEY_BYTES || public_key[0] != 0x04)
		return CRYPTO_INVALID;
	if (digest_length != CRYPTO_SHA256_BYTES || signature_length != CRYPTO_P256_SIGNATURE_BYTES)
		return CRYPTO_INVALID;
	return verify(public_key, digest, signature);
}
