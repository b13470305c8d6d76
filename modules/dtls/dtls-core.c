#include "dtls-core.h"
#include "dtls-compat.h"
#include "dtls-shared.h"
#include "dtls-session.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DATAGRAM 16384
#define APP_BUFFER 2048

static int bio_send(void* context, const unsigned char* data, size_t length)
{
	dtls_session* session = context;
	if (session->io.send(session->io.user, data, length) != 0)
		return MBEDTLS_ERR_NET_SEND_FAILED;
	session->stats.datagrams_sent++;
	session->stats.bytes_sent += length;
	if (session->state == STATE_HANDSHAKING) {
		session->stats.handshake_datagrams_sent++;
		session->stats.handshake_bytes_sent += length;
		if (session->retransmitting)
			session->stats.retransmissions++;
		else if (session->last_direction != DIRECTION_OUT)
			session->stats.flights_sent++;
	}
	session->last_direction = DIRECTION_OUT;
	return (int)length;
}

static int bio_receive(void* context, unsigned char* buffer, size_t capacity)
{
	dtls_session* session = context;
	if (!session->inbound_ready)
		return MBEDTLS_ERR_SSL_WANT_READ;
	session->inbound_ready = 0;
	size_t length = session->inbound_length < capacity ? session->inbound_length : capacity;
	memcpy(buffer, session->inbound, length);
	return (int)length;
}

static void timer_set(void* context, uint32_t intermediate_ms, uint32_t final_ms)
{
	dtls_session* session = context;
	(void)intermediate_ms;
	session->timer_state = final_ms ? 0 : -1;
	session->io.set_timer(session->io.user, final_ms);
}

static int timer_get(void* context)
{
	return ((dtls_session*)context)->timer_state;
}

static int psk_lookup(void* context, mbedtls_ssl_context* ssl, const unsigned char* identity, size_t identity_length)
{
	dtls_session* session = context;
	uint8_t key[DTLS_MAX_PSK_LENGTH];
	if (!session->io.psk_lookup)
		return -1;
	int length = session->io.psk_lookup(session->io.user, identity, identity_length, key, sizeof(key));
	int result = length > 0 ? mbedtls_ssl_set_hs_psk(ssl, key, (size_t)length) : -1;
	mbedtls_platform_zeroize(key, sizeof(key));
	return result;
}

static dtls_status configure(dtls_session* session, const dtls_options* options)
{
	mbedtls_ssl_config* conf = &session->conf;
	int endpoint = options->role == DTLS_ROLE_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT;
	if (mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		return DTLS_ERROR_INTERNAL;
#if !DTLS_RNG_IS_PSA
	DTLS_CONF_RNG(conf, dtls_shared()->rng);
#endif
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	int count = 0;
	for (int i = 0; i < DTLS_MAX_SUITES && options->suites[i]; i++)
		session->suites[count++] = options->suites[i];
	if (count == 0) {
		session->suites[count++] = DTLS_SUITE_PSK_AES_128_CCM_8;
		session->suites[count++] = DTLS_SUITE_PSK_AES_128_CBC_SHA256;
	}
	session->suites[count] = 0;
	mbedtls_ssl_conf_ciphersuites(conf, session->suites);
	uint32_t min_ms = options->handshake_min_ms ? options->handshake_min_ms : 1000;
	uint32_t max_ms = options->handshake_max_ms ? options->handshake_max_ms : 60000;
	if (max_ms < min_ms)
		return DTLS_ERROR_BAD_CONFIG;
	mbedtls_ssl_conf_handshake_timeout(conf, min_ms, max_ms);
	if (endpoint == MBEDTLS_SSL_IS_CLIENT) {
		if (!options->key || options->key_length == 0 || options->key_length > DTLS_MAX_PSK_LENGTH
				|| !options->identity || options->identity_length == 0 || options->identity_length > DTLS_MAX_IDENTITY_LENGTH)
			return DTLS_ERROR_BAD_CONFIG;
		if (mbedtls_ssl_conf_psk(conf, options->key, options->key_length, options->identity, options->identity_length) != 0)
			return DTLS_ERROR_NO_MEMORY;
	}
	else {
		mbedtls_ssl_conf_psk_cb(conf, psk_lookup, session);
		mbedtls_ssl_conf_dtls_cookies(conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check, &dtls_shared()->cookie);
		mbedtls_ssl_conf_session_cache(conf, &dtls_shared()->cache, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
	}
#if DTLS_HAS_CONNECTION_ID
	if (options->connection_id)
		mbedtls_ssl_conf_cid(conf, 4, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
#endif
	return DTLS_STATUS_HANDSHAKING;
}

dtls_status dtls_session_new(const dtls_options* options, const dtls_io* io, dtls_session** result)
{
	*result = NULL;
	if (!io->send || !io->set_timer || !io->deliver)
		return DTLS_ERROR_BAD_CONFIG;
	if (dtls_global_init() != 0)
		return DTLS_ERROR_NO_MEMORY;
	dtls_session* session = calloc(1, sizeof(*session));
	if (!session)
		return DTLS_ERROR_NO_MEMORY;
	session->io = *io;
	session->role = options->role;
	session->timer_state = -1;
	mbedtls_ssl_init(&session->ssl);
	mbedtls_ssl_config_init(&session->conf);
	session->allocated = 1;
	dtls_shared()->live_sessions++;
	dtls_status status = configure(session, options);
	if (status == DTLS_STATUS_HANDSHAKING && mbedtls_ssl_setup(&session->ssl, &session->conf) != 0)
		status = DTLS_ERROR_NO_MEMORY;
	if (status == DTLS_STATUS_HANDSHAKING) {
		mbedtls_ssl_set_bio(&session->ssl, session, bio_send, bio_receive, NULL);
		/* Calls timer_set at once: the io callbacks are in place by now. */
		mbedtls_ssl_set_timer_cb(&session->ssl, session, timer_set, timer_get);
		if (options->mtu)
			mbedtls_ssl_set_mtu(&session->ssl, options->mtu);
		if (options->role == DTLS_ROLE_SERVER) {
			session->peer_id = malloc(options->peer_id_length ? options->peer_id_length : 1);
			session->peer_id_length = options->peer_id_length;
			if (!session->peer_id)
				status = DTLS_ERROR_NO_MEMORY;
			else {
				memcpy(session->peer_id, options->peer_id, options->peer_id_length);
				if (mbedtls_ssl_set_client_transport_id(&session->ssl, session->peer_id, session->peer_id_length) != 0)
					status = DTLS_ERROR_BAD_CONFIG;
			}
		}
		if (options->role == DTLS_ROLE_CLIENT && options->resume
				&& mbedtls_ssl_set_session(&session->ssl, &options->resume->session) != 0)
			status = DTLS_ERROR_INTERNAL;
#if DTLS_HAS_CONNECTION_ID
		if (options->connection_id) {
			unsigned char own[4];
			DTLS_RANDOM(dtls_shared()->rng, own, sizeof(own));
			mbedtls_ssl_set_cid(&session->ssl, MBEDTLS_SSL_CID_ENABLED, own, sizeof(own));
		}
#endif
	}
	if (status != DTLS_STATUS_HANDSHAKING) {
		session->io.set_timer = NULL;
		dtls_session_free(session);
		return status;
	}
	*result = session;
	return status;
}

static void release(dtls_session* session)
{
	if (!session->allocated)
		return;
	session->allocated = 0;
	mbedtls_ssl_free(&session->ssl);
	mbedtls_ssl_config_free(&session->conf);
	free(session->inbound);
	session->inbound = NULL;
	free(session->peer_id);
	session->peer_id = NULL;
	dtls_shared()->live_sessions--;
}

static dtls_status fail(dtls_session* session, dtls_status status, int library_error)
{
	session->state = STATE_FAILED;
	session->stats.library_error = library_error;
	return status;
}

static dtls_status handshake_error(dtls_session* session, int ret)
{
	switch (ret) {
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return fail(session, DTLS_ERROR_HANDSHAKE_TIMEOUT, ret);
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return fail(session, DTLS_ERROR_FATAL_ALERT, ret);
	case MBEDTLS_ERR_NET_SEND_FAILED:
		return fail(session, DTLS_ERROR_SEND, ret);
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return fail(session, DTLS_ERROR_NO_MEMORY, ret);
	default:
		return fail(session, DTLS_ERROR_HANDSHAKE_FAILED, ret);
	}
}

static dtls_status read_records(dtls_session* session)
{
	unsigned char buffer[APP_BUFFER];
	for (;;) {
		int ret = mbedtls_ssl_read(&session->ssl, buffer, sizeof(buffer));
		if (ret > 0) {
			session->delivering = 1;
			session->io.deliver(session->io.user, buffer, (size_t)ret);
			session->delivering = 0;
			if (session->close_pending)
				return DTLS_STATUS_OPEN;
			continue;
		}
		mbedtls_platform_zeroize(buffer, sizeof(buffer));
		switch (ret) {
		case 0:
		case MBEDTLS_ERR_SSL_WANT_READ:
		case MBEDTLS_ERR_SSL_WANT_WRITE:
		case MBEDTLS_ERR_SSL_TIMEOUT:
			return DTLS_STATUS_OPEN;
		case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
			session->state = STATE_CLOSED;
			return DTLS_STATUS_PEER_CLOSED;
		case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
			return fail(session, DTLS_ERROR_FATAL_ALERT, ret);
		case MBEDTLS_ERR_SSL_CLIENT_RECONNECT:
			return fail(session, DTLS_ERROR_SESSION_LOST, ret);
		default:
			return fail(session, DTLS_ERROR_INTERNAL, ret);
		}
	}
}

static dtls_status advance(dtls_session* session)
{
	if (session->state == STATE_OPEN)
		return read_records(session);
	if (session->state != STATE_HANDSHAKING)
		return session->state == STATE_CLOSED ? DTLS_STATUS_CLOSED : DTLS_ERROR_NOT_CONNECTED;
	int ret = 0;
	while (!DTLS_HANDSHAKE_OVER(&session->ssl)) {
		ret = mbedtls_ssl_handshake_step(&session->ssl);
		/* Only a full handshake passes through ClientKeyExchange, on either side. */
		if (DTLS_STATE(&session->ssl) == MBEDTLS_SSL_CLIENT_KEY_EXCHANGE)
			session->full_handshake_seen = 1;
		if (ret != 0)
			break;
	}
	if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
		/* The client comes back with the cookie: start over, still bound to its address. */
		session->full_handshake_seen = 0;
		if (mbedtls_ssl_session_reset(&session->ssl) != 0
				|| mbedtls_ssl_set_client_transport_id(&session->ssl, session->peer_id, session->peer_id_length) != 0)
			return fail(session, DTLS_ERROR_NO_MEMORY, 0);
		return DTLS_STATUS_HANDSHAKING;
	}
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return DTLS_STATUS_HANDSHAKING;
	if (ret != 0)
		return handshake_error(session, ret);
	session->state = STATE_OPEN;
	session->stats.resumed = !session->full_handshake_seen;
	session->stats.suite = (uint16_t)DTLS_NEGOTIATED_SUITE(&session->ssl);
#if DTLS_HAS_CONNECTION_ID
	{
		int enabled = 0;
		unsigned char peer[MBEDTLS_SSL_CID_OUT_LEN_MAX];
		size_t peer_length = 0;
		if (mbedtls_ssl_get_peer_cid(&session->ssl, &enabled, peer, &peer_length) == 0)
			session->stats.connection_id_in_use = enabled == MBEDTLS_SSL_CID_ENABLED;
	}
#endif
	dtls_status after = read_records(session);
	return after == DTLS_STATUS_OPEN ? DTLS_STATUS_CONNECTED : after;
}

/* Ends a call that marked the session busy; runs a close asked for meanwhile. */
static dtls_status finish_call(dtls_session* session, dtls_status status)
{
	session->busy = 0;
	session->retransmitting = 0;
	if (session->close_pending) {
		session->close_pending = 0;
		dtls_session_close(session);
		return DTLS_STATUS_CLOSED;
	}
	return status;
}

dtls_status dtls_session_start(dtls_session* session)
{
	if (session->busy || session->state != STATE_NEW)
		return DTLS_ERROR_NOT_CONNECTED;
	session->busy = 1;
	session->state = STATE_HANDSHAKING;
	dtls_status status = session->role == DTLS_ROLE_CLIENT ? advance(session) : DTLS_STATUS_HANDSHAKING;
	return finish_call(session, status);
}

dtls_status dtls_session_receive(dtls_session* session, const uint8_t* data, size_t length)
{
	if (session->busy)
		return DTLS_ERROR_INTERNAL;
	if (!session->allocated || (session->state != STATE_HANDSHAKING && session->state != STATE_OPEN))
		return session->state == STATE_CLOSED ? DTLS_STATUS_CLOSED : DTLS_ERROR_NOT_CONNECTED;
	if (length == 0 || length > MAX_DATAGRAM)
		return session->state == STATE_OPEN ? DTLS_STATUS_OPEN : DTLS_STATUS_HANDSHAKING;
	/* The caller's bytes may move once a callback runs script: keep a copy. */
	uint8_t* copy = realloc(session->inbound, length);
	if (!copy)
		return DTLS_ERROR_NO_MEMORY;
	session->inbound = copy;
	memcpy(copy, data, length);
	session->inbound_length = length;
	session->inbound_ready = 1;
	session->busy = 1;
	session->stats.datagrams_received++;
	session->stats.bytes_received += length;
	if (session->state == STATE_HANDSHAKING) {
		session->stats.handshake_datagrams_received++;
		session->stats.handshake_bytes_received += length;
	}
	session->last_direction = DIRECTION_IN;
	dtls_status status = advance(session);
	session->inbound_ready = 0;
	return finish_call(session, status);
}

dtls_status dtls_session_timer_expired(dtls_session* session)
{
	if (session->busy || !session->allocated || session->timer_state != 0)
		return session->state == STATE_OPEN ? DTLS_STATUS_OPEN : DTLS_STATUS_HANDSHAKING;
	session->timer_state = 2;
	session->busy = 1;
	session->retransmitting = session->state == STATE_HANDSHAKING;
	return finish_call(session, advance(session));
}

dtls_status dtls_session_write(dtls_session* session, const uint8_t* data, size_t length)
{
	/* A reply written while a record is being delivered is safe: mbedtls_ssl_read has returned. */
	int nested = session->busy && session->delivering;
	if ((session->busy && !nested) || session->state != STATE_OPEN || session->close_pending)
		return DTLS_ERROR_NOT_CONNECTED;
	session->busy = 1;
	int ret = mbedtls_ssl_write(&session->ssl, data, length);
	dtls_status status = DTLS_STATUS_OPEN;
	if (ret == MBEDTLS_ERR_SSL_BAD_INPUT_DATA)
		status = DTLS_ERROR_TOO_LARGE;
	else if (ret == MBEDTLS_ERR_NET_SEND_FAILED)
		status = DTLS_ERROR_SEND;
	else if (ret < 0)
		status = fail(session, DTLS_ERROR_INTERNAL, ret);
	else if ((size_t)ret != length)
		status = DTLS_ERROR_TOO_LARGE;
	return nested ? status : finish_call(session, status);
}

void dtls_session_close(dtls_session* session)
{
	if (session->busy) {
		session->close_pending = 1;
		return;
	}
	if (session->allocated && session->state == STATE_OPEN)
		mbedtls_ssl_close_notify(&session->ssl);
	if (session->state != STATE_FAILED)
		session->state = STATE_CLOSED;
	if (session->allocated && session->io.set_timer)
		session->io.set_timer(session->io.user, 0);
	release(session);
}

void dtls_session_free(dtls_session* session)
{
	if (!session)
		return;
	/* From a destructor: no callback may run any more. */
	session->busy = 0;
	session->io.set_timer = NULL;
	release(session);
	free(session);
	dtls_global_release();
}
