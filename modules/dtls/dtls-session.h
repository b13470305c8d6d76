/* Internal to the dtls-*.c files: the session structure. */
#ifndef DTLS_SESSION_H
#define DTLS_SESSION_H

#include "dtls-core.h"
#include "dtls-compat.h"

typedef enum { STATE_NEW, STATE_HANDSHAKING, STATE_OPEN, STATE_CLOSED, STATE_FAILED } session_state;
typedef enum { DIRECTION_NONE, DIRECTION_OUT, DIRECTION_IN } direction;

struct dtls_resume {
	mbedtls_ssl_session session;
};

struct dtls_session {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	dtls_io io;
	dtls_role role;
	session_state state;
	int timer_state;
	int busy;
	int delivering;
	int close_pending;
	int retransmitting;
	int full_handshake_seen;
	int allocated;
	direction last_direction;
	uint8_t* inbound;
	uint8_t* peer_id;
	size_t peer_id_length;
	size_t inbound_length;
	int inbound_ready;
	int suites[DTLS_MAX_SUITES + 1];
	dtls_stats stats;
};

#endif
