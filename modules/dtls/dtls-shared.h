/* Internal to dtls-core.c and dtls-shared.c. */
#ifndef DTLS_SHARED_H
#define DTLS_SHARED_H

#include "dtls-compat.h"

/* One random generator for every session: Debian's entropy context alone is about 38 KB. */
typedef struct {
	int ready;
#if !DTLS_RNG_IS_PSA
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
#endif
	/* What mbedtls_ssl_conf_rng takes (NULL with PSA). */
	void* rng;
	mbedtls_ssl_cookie_ctx cookie;
	mbedtls_ssl_cache_context cache;
	int live_sessions;
	int live_resumes;
	/* The random source of the platform uses the generator: keep it for the life of the machine. */
	int pinned;
} dtls_shared_state;

/* NULL until dtls_global_init() succeeds. */
dtls_shared_state* dtls_shared(void);

#endif
