/*
 * The one place where mbedtls versions differ for modules/crypto:
 *   2.28 (Debian: the host worker and the simulator): mbedtls_sha256_*_ret,
 *   3.x  (Zephyr, ESP-IDF 5): mbedtls_sha256_* return int,
 *   4.0  (ESP-IDF 6, TF-PSA-Crypto): the legacy hash and ECDSA APIs are
 *        private, so both go through PSA (psa_hash_*, psa_verify_hash).
 * Only 2.28 is compiled and run on the development machines.
 */
#ifndef CRYPTO_COMPAT_H
#define CRYPTO_COMPAT_H

/* ESP-IDF's mbedtls component is compiled with its own configuration (hardware SHA among it); follow it. */
#if defined(ESP_PLATFORM) && !defined(MBEDTLS_CONFIG_FILE)
	#define MBEDTLS_CONFIG_FILE "mbedtls/esp_config.h"
#endif

#include "mbedtls/version.h"

#if MBEDTLS_VERSION_NUMBER >= 0x04000000
	#include "psa/crypto.h"
	#define CRYPTO_USE_PSA 1
	typedef psa_hash_operation_t crypto_sha256_context;
#else
	#include "mbedtls/sha256.h"
	#include "mbedtls/ecdsa.h"
	#include "mbedtls/ecp.h"
	#include "mbedtls/bignum.h"
	#define CRYPTO_USE_PSA 0
	typedef mbedtls_sha256_context crypto_sha256_context;
#endif

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	#define CRYPTO_SHA256_STARTS(ctx) mbedtls_sha256_starts((ctx), 0)
	#define CRYPTO_SHA256_UPDATE(ctx, data, length) mbedtls_sha256_update((ctx), (data), (length))
	#define CRYPTO_SHA256_FINISH(ctx, out) mbedtls_sha256_finish((ctx), (out))
#else
	#define CRYPTO_SHA256_STARTS(ctx) mbedtls_sha256_starts_ret((ctx), 0)
	#define CRYPTO_SHA256_UPDATE(ctx, data, length) mbedtls_sha256_update_ret((ctx), (data), (length))
	#define CRYPTO_SHA256_FINISH(ctx, out) mbedtls_sha256_finish_ret((ctx), (out))
#endif

#endif
