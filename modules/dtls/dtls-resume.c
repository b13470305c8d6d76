/* Session figures and the resumption state a client keeps between connections. */
#include "dtls-core.h"
#include "dtls-compat.h"
#include "dtls-shared.h"
#include "dtls-session.h"

#include <stdlib.h>

void dtls_session_stats(const dtls_session* session, dtls_stats* stats)
{
	*stats = session->stats;
}

size_t dtls_session_max_plaintext(dtls_session* session)
{
	if (!session->allocated || session->state != STATE_OPEN)
		return 0;
	int payload = mbedtls_ssl_get_max_out_record_payload(&session->ssl);
	return payload > 0 ? (size_t)payload : 0;
}

dtls_resume* dtls_resume_take(dtls_session* session)
{
	if (session->role != DTLS_ROLE_CLIENT || !session->allocated || session->state != STATE_OPEN)
		return NULL;
	dtls_resume* resume = calloc(1, sizeof(*resume));
	if (!resume)
		return NULL;
	mbedtls_ssl_session_init(&resume->session);
	if (mbedtls_ssl_get_session(&session->ssl, &resume->session) != 0) {
		mbedtls_ssl_session_free(&resume->session);
		free(resume);
		return NULL;
	}
	dtls_shared()->live_resumes++;
	return resume;
}

void dtls_resume_free(dtls_resume* resume)
{
	if (!resume)
		return;
	mbedtls_ssl_session_free(&resume->session);
	free(resume);
	dtls_shared()->live_resumes--;
	dtls_global_release();
}
