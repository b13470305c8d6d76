/* State every session shares: the random generator, cookie secret, server session cache, counters. */
#include "dtls-core.h"
#include "dtls-compat.h"
#include "dtls-shared.h"

#include <stdlib.h>

#define SERVER_CACHE_ENTRIES 16

/* One random generator for every session: Debian's entropy context alone is about 38 KB. */
static DTLS_THREAD_LOCAL dtls_shared_state* shared;

dtls_shared_state* dtls_shared(void)
{
	return shared;
}

int dtls_global_init(void)
{
	static const char personalization[] = "xs-lwm2m dtls";
	if (shared)
		return 0;
	shared = calloc(1, sizeof(*shared));
	if (!shared)
		return -1;
#if DTLS_RNG_IS_PSA
	if (psa_crypto_init() != PSA_SUCCESS)
		goto fail;
	void* rng = NULL;
#else
	mbedtls_entropy_init(&shared->entropy);
	mbedtls_ctr_drbg_init(&shared->drbg);
	if (mbedtls_ctr_drbg_seed(&shared->drbg, mbedtls_entropy_func, &shared->entropy,
			(const unsigned char*)personalization, sizeof(personalization) - 1) != 0)
		goto fail;
	void* rng = &shared->drbg;
	shared->rng = rng;
#endif
	(void)personalization;
	mbedtls_ssl_cookie_init(&shared->cookie);
	if (DTLS_COOKIE_SETUP(&shared->cookie, rng) != 0)
		goto fail;
	mbedtls_ssl_cache_init(&shared->cache);
	mbedtls_ssl_cache_set_max_entries(&shared->cache, SERVER_CACHE_ENTRIES);
	shared->ready = 1;
	return 0;
fail:
	dtls_global_release();
	return -1;
}

void dtls_global_release(void)
{
	if (!shared || shared->live_sessions || shared->live_resumes || shared->pinned)
		return;
	if (shared->ready) {
		mbedtls_ssl_cookie_free(&shared->cookie);
		mbedtls_ssl_cache_free(&shared->cache);
	}
#if !DTLS_RNG_IS_PSA
	mbedtls_ctr_drbg_free(&shared->drbg);
	mbedtls_entropy_free(&shared->entropy);
#endif
	free(shared);
	shared = NULL;
}

int dtls_random_fill(uint8_t* buffer, size_t length)
{
	if (dtls_global_init() != 0)
		return -1;
	shared->pinned = 1;
	while (length > 0) {
		size_t chunk = length < DTLS_RANDOM_CHUNK ? length : DTLS_RANDOM_CHUNK;
		if (DTLS_RANDOM(shared->rng, buffer, chunk) != 0)
			return -1;
		buffer += chunk;
		length -= chunk;
	}
	return 0;
}

int dtls_live_sessions(void)
{
	return shared ? shared->live_sessions : 0;
}

int dtls_live_resumes(void)
{
	return shared ? shared->live_resumes : 0;
}

int dtls_connection_id_supported(void)
{
	return DTLS_HAS_CONNECTION_ID;
}

const char* dtls_status_name(dtls_status status)
{
	switch (status) {
	case DTLS_STATUS_HANDSHAKING: return "handshaking";
	case DTLS_STATUS_CONNECTED: return "connected";
	case DTLS_STATUS_OPEN: return "open";
	case DTLS_STATUS_PEER_CLOSED: return "peer-closed";
	case DTLS_STATUS_CLOSED: return "closed";
	case DTLS_ERROR_HANDSHAKE_FAILED: return "handshake-failed";
	case DTLS_ERROR_HANDSHAKE_TIMEOUT: return "handshake-timeout";
	case DTLS_ERROR_FATAL_ALERT: return "fatal-alert";
	case DTLS_ERROR_SESSION_LOST: return "session-lost";
	case DTLS_ERROR_SEND: return "send-failed";
	case DTLS_ERROR_NO_MEMORY: return "no-memory";
	case DTLS_ERROR_BAD_CONFIG: return "bad-config";
	case DTLS_ERROR_NOT_CONNECTED: return "not-connected";
	case DTLS_ERROR_TOO_LARGE: return "too-large";
	default: return "internal";
	}
}
