/*
 * DTLS 1.2 PSK sessions over mbedtls, with no I/O of their own: datagrams go
 * in through dtls_session_receive() and out through the send callback; the
 * retransmission timer is armed by the caller (set_timer) and reported back
 * with dtls_session_timer_expired(). Nothing here knows about XS.
 */
#ifndef DTLS_CORE_H
#define DTLS_CORE_H

#include <stddef.h>
#include <stdint.h>

#define DTLS_MAX_PSK_LENGTH 64
#define DTLS_MAX_IDENTITY_LENGTH 128
#define DTLS_MAX_SUITES 4

/* Cipher suites by IANA number. */
#define DTLS_SUITE_PSK_AES_128_CCM_8 0xC0A8
#define DTLS_SUITE_PSK_AES_128_CBC_SHA256 0x00AE

typedef enum { DTLS_ROLE_CLIENT = 0, DTLS_ROLE_SERVER = 1 } dtls_role;

/* What a step of the state machine ended in. Errors are negative. */
typedef enum {
	DTLS_STATUS_HANDSHAKING = 0,
	DTLS_STATUS_CONNECTED = 1,  /* the handshake finished during this call */
	DTLS_STATUS_OPEN = 2,       /* connected before this call, still open */
	DTLS_STATUS_PEER_CLOSED = 3,
	DTLS_STATUS_CLOSED = 4,
	DTLS_ERROR_HANDSHAKE_FAILED = -1,
	DTLS_ERROR_HANDSHAKE_TIMEOUT = -2,
	DTLS_ERROR_FATAL_ALERT = -3,
	DTLS_ERROR_SESSION_LOST = -4,
	DTLS_ERROR_SEND = -5,
	DTLS_ERROR_NO_MEMORY = -6,
	DTLS_ERROR_BAD_CONFIG = -7,
	DTLS_ERROR_NOT_CONNECTED = -8,
	DTLS_ERROR_TOO_LARGE = -9,
	DTLS_ERROR_INTERNAL = -10
} dtls_status;

typedef struct dtls_session dtls_session;
typedef struct dtls_resume dtls_resume;

typedef struct {
	void* user;
	/* One datagram out; returns 0 when it was handed over, -1 otherwise. */
	int (*send)(void* user, const uint8_t* data, size_t length);
	/* Arms the retransmission timer for `final_ms` (0: cancel). */
	void (*set_timer)(void* user, uint32_t final_ms);
	/* Plaintext of one application record; `data` is valid during the call only. */
	void (*deliver)(void* user, const uint8_t* data, size_t length);
	/* Server: the key for an identity, copied into `key`; returns its length, or -1 if unknown. */
	int (*psk_lookup)(void* user, const uint8_t* identity, size_t identity_length, uint8_t* key, size_t key_capacity);
} dtls_io;

typedef struct {
	dtls_role role;
	/* Client: identity and key (the key is copied and wiped from this struct's owner's copy by the caller). */
	const uint8_t* identity;
	size_t identity_length;
	const uint8_t* key;
	size_t key_length;
	/* IANA numbers; 0 entries end the list early. An empty list means both suites, CCM_8 first. */
	uint16_t suites[DTLS_MAX_SUITES];
	uint32_t handshake_min_ms;
	uint32_t handshake_max_ms;
	/* Largest datagram sent (0: mbedtls's default). */
	uint16_t mtu;
	/* Server: the client's transport address, bound into HelloVerifyRequest cookies. */
	const uint8_t* peer_id;
	size_t peer_id_length;
	/* Client: a session kept from an earlier connection to the same peer, offered for resumption. */
	const dtls_resume* resume;
	/* Request a DTLS Connection ID (where the library supports it). */
	int connection_id;
} dtls_options;

typedef struct {
	uint32_t flights_sent;
	uint32_t datagrams_sent;
	uint32_t datagrams_received;
	uint32_t bytes_sent;
	uint32_t bytes_received;
	uint32_t handshake_datagrams_sent;
	uint32_t handshake_datagrams_received;
	uint32_t handshake_bytes_sent;
	uint32_t handshake_bytes_received;
	uint32_t retransmissions;
	int resumed;
	int connection_id_in_use;
	/* The last mbedtls error code (a number; no key material), 0 if none. */
	int library_error;
	uint16_t suite;
} dtls_stats;

/* The shared random generator (one for all sessions); 0 on success. Idempotent. */
int dtls_global_init(void);
/* Frees the shared state once no session is left. */
void dtls_global_release(void);
/*
 * Fills `buffer` from the shared generator (CTR-DRBG seeded by the platform's
 * entropy source; PSA's generator with mbedtls 4.0); 0 on success. The
 * generator then stays for the life of the process (thread on hosts).
 */
int dtls_random_fill(uint8_t* buffer, size_t length);
int dtls_live_sessions(void);
int dtls_live_resumes(void);
/* Whether this mbedtls was built with DTLS Connection ID (RFC 9146 or its draft). */
int dtls_connection_id_supported(void);

dtls_status dtls_session_new(const dtls_options* options, const dtls_io* io, dtls_session** result);
/* Client: sends the first flight. Server: waits for a ClientHello. */
dtls_status dtls_session_start(dtls_session* session);
/* One inbound datagram (copied before anything else happens). */
dtls_status dtls_session_receive(dtls_session* session, const uint8_t* data, size_t length);
dtls_status dtls_session_timer_expired(dtls_session* session);
dtls_status dtls_session_write(dtls_session* session, const uint8_t* data, size_t length);
/* Sends close_notify if the session is open; the session stays allocated until freed. */
void dtls_session_close(dtls_session* session);
void dtls_session_free(dtls_session* session);
void dtls_session_stats(const dtls_session* session, dtls_stats* stats);
/* Largest plaintext one record carries with the current MTU and suite (0 before the handshake). */
size_t dtls_session_max_plaintext(dtls_session* session);

/* Client: keeps the session's resumption state (after CONNECTED). NULL if there is none. */
dtls_resume* dtls_resume_take(dtls_session* session);
void dtls_resume_free(dtls_resume* resume);

/* A fixed description of a status, for messages. */
const char* dtls_status_name(dtls_status status);

#endif
