/*
 * The one place where mbedtls versions differ for this module:
 *   2.28 (Debian, the host worker and the simulator),
 *   3.x  (Zephyr; private struct members behind MBEDTLS_PRIVATE),
 *   4.0  (ESP-IDF 6: no legacy entropy/CTR-DRBG, the RNG comes from PSA).
 * Only 2.28 is compiled and run on the development machines.
 */
#ifndef DTLS_COMPAT_H
#define DTLS_COMPAT_H

/* ESP-IDF's mbedtls component is compiled with its own configuration; struct layouts follow it (its port/include folder comes from manifest.json). */
#if defined(ESP_PLATFORM) && !defined(MBEDTLS_CONFIG_FILE)
	#define MBEDTLS_CONFIG_FILE "mbedtls/esp_config.h"
#endif

#include "mbedtls/version.h"
#include "mbedtls/ssl.h"
#include "mbedtls/ssl_cookie.h"
#include "mbedtls/ssl_cache.h"
#include "mbedtls/platform_util.h"

#if MBEDTLS_VERSION_NUMBER >= 0x04000000
	#include "psa/crypto.h"
	#define DTLS_RNG_IS_PSA 1
#else
	#include "mbedtls/entropy.h"
	#include "mbedtls/ctr_drbg.h"
	#define DTLS_RNG_IS_PSA 0
#endif

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	#define DTLS_FIELD(x) MBEDTLS_PRIVATE(x)
#else
	#define DTLS_FIELD(x) x
#endif

/* The handshake state (public in 2.x, a private member of the public struct in 3.x). */
#define DTLS_STATE(ssl) ((ssl)->DTLS_FIELD(state))

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	#define DTLS_NEGOTIATED_SUITE(ssl) mbedtls_ssl_get_ciphersuite_id_from_ssl(ssl)
	#define DTLS_HANDSHAKE_OVER(ssl) mbedtls_ssl_is_handshake_over(ssl)
#else
	#define DTLS_NEGOTIATED_SUITE(ssl) mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(ssl))
	#define DTLS_HANDSHAKE_OVER(ssl) (DTLS_STATE(ssl) == MBEDTLS_SSL_HANDSHAKE_OVER)
#endif

/* mbedtls 4.0 draws randomness from PSA itself; earlier versions take an RNG per configuration. */
#if DTLS_RNG_IS_PSA
	#define DTLS_RANDOM(rng, buffer, length) ((void)(rng), psa_generate_random((buffer), (length)))
	#define DTLS_CONF_RNG(conf, rng) ((void)(conf), (void)(rng))
	#define DTLS_COOKIE_SETUP(cookie, rng) mbedtls_ssl_cookie_setup(cookie)
#else
	#define DTLS_RANDOM(rng, buffer, length) mbedtls_ctr_drbg_random((rng), (buffer), (length))
	#define DTLS_CONF_RNG(conf, rng) mbedtls_ssl_conf_rng((conf), mbedtls_ctr_drbg_random, (rng))
	#define DTLS_COOKIE_SETUP(cookie, rng) mbedtls_ssl_cookie_setup((cookie), mbedtls_ctr_drbg_random, (rng))
#endif

/* One request of the random generator (CTR-DRBG caps a request at 1024 bytes; PSA has no such cap worth relying on). */
#define DTLS_RANDOM_CHUNK 256

/*
 * Hosted builds (the XS worker, the simulator) may run several XS machines in
 * threads of one process (mcsim runs two): each thread gets its own shared
 * state. Devices run one machine; their toolchains need not offer TLS.
 */
#if defined(__linux__) || defined(__APPLE__)
	#define DTLS_THREAD_LOCAL __thread
#else
	#define DTLS_THREAD_LOCAL
#endif

/* The send callback's failure code (defined by net_sockets.h, which device builds may leave out). */
#ifndef MBEDTLS_ERR_NET_SEND_FAILED
	#define MBEDTLS_ERR_NET_SEND_FAILED -0x004E
#endif

#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
	#define DTLS_HAS_CONNECTION_ID 1
#else
	#define DTLS_HAS_CONNECTION_ID 0
#endif

#endif
