/*
 * Node (N-API) binding of modules/dtls/dtls-core.c, the twin of dtls-xs.c:
 * the same C core, the same host-class shape. The class `Session` calls back
 * this.onSend / onTimer / onData / onPskLookup (methods of a JS subclass)
 * only while one of its own methods runs, so C keeps no reference to any JS
 * object and the garbage collector's finalizer frees whatever is left.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include "dtls-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
	#include <malloc.h>
#endif

#define HOST_MAGIC 0x44544c4e

/* hal/host/node/crypto/crypto-napi.c: verifyP256 of modules/crypto, linked into this addon. */
napi_status crypto_napi_register(napi_env env, napi_value exports);

typedef struct {
	uint32_t magic;
	dtls_session* session;
	dtls_resume* resume;
	dtls_role role;
	/* Set while a method of this session runs (callbacks need them). */
	napi_env env;
	napi_value self;
	napi_value result;
} dtls_host;

#define CHECK(call) do { if ((call) != napi_ok) goto failed; } while (0)

/* Calls this[method](argument); leaves the result in host->result. 0 when it threw (the exception is dropped: DtlsSession rethrows its own copy). */
static int call_back(dtls_host* host, const char* method, const uint8_t* data, size_t length, int number)
{
	napi_env env = host->env;
	napi_value function, argument, result;
	if (!env)
		return 0;
	host->result = NULL;
	CHECK(napi_get_named_property(env, host->self, method, &function));
	if (data) {
		void* bytes;
		CHECK(napi_create_arraybuffer(env, length, &bytes, &argument));
		memcpy(bytes, data, length);
	}
	else
		CHECK(napi_create_int32(env, number, &argument));
	CHECK(napi_call_function(env, host->self, function, 1, &argument, &result));
	host->result = result;
	return 1;
failed:
	{
		bool pending = false;
		napi_value ignored;
		if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
			napi_get_and_clear_last_exception(env, &ignored);
	}
	return 0;
}

static int host_send(void* user, const uint8_t* data, size_t length)
{
	dtls_host* host = user;
	bool sent = false;
	if (!call_back(host, "onSend", data, length, 0) || napi_coerce_to_bool(host->env, host->result, &host->result) != napi_ok
			|| napi_get_value_bool(host->env, host->result, &sent) != napi_ok)
		return -1;
	return sent ? 0 : -1;
}

static void host_set_timer(void* user, uint32_t final_ms)
{
	call_back(user, "onTimer", NULL, 0, (int)final_ms);
}

static void host_deliver(void* user, const uint8_t* data, size_t length)
{
	call_back(user, "onData", data, length, 0);
}

/* The bytes of a byte array (Uint8Array, Buffer) or an ArrayBuffer; 0 if `value` is neither. */
static int bytes_of(napi_env env, napi_value value, const uint8_t** bytes, size_t* length)
{
	bool is = false;
	void* data = NULL;
	if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
		napi_typedarray_type type;
		size_t offset;
		napi_value buffer;
		if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok
				|| (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array))
			return 0;
		*bytes = data;
		return 1;
	}
	if (napi_is_arraybuffer(env, value, &is) == napi_ok && is && napi_get_arraybuffer_info(env, value, &data, length) == napi_ok) {
		*bytes = data;
		return 1;
	}
	return 0;
}

static int host_psk_lookup(void* user, const uint8_t* identity, size_t identity_length, uint8_t* key, size_t capacity)
{
	dtls_host* host = user;
	const uint8_t* bytes;
	size_t count;
	if (!call_back(host, "onPskLookup", identity, identity_length, 0) || !host->result)
		return -1;
	int length = -1;
	if (bytes_of(host->env, host->result, &bytes, &count) && count > 0 && count <= capacity) {
		memcpy(key, bytes, count);
		length = (int)count;
	}
	host->result = NULL;
	return length;
}

static napi_value throw_error(napi_env env, const char* message)
{
	napi_throw_error(env, NULL, message);
	return NULL;
}

static napi_value property(napi_env env, napi_value object, const char* name)
{
	napi_value value;
	napi_valuetype type;
	if (napi_get_named_property(env, object, name, &value) != napi_ok || napi_typeof(env, value, &type) != napi_ok
			|| type == napi_undefined || type == napi_null)
		return NULL;
	return value;
}

static uint32_t get_number(napi_env env, napi_value options, const char* name, uint32_t fallback)
{
	napi_value value = property(env, options, name);
	int64_t number;
	if (!value || napi_get_value_int64(env, value, &number) != napi_ok || number < 0 || number > 0x7fffffff)
		return fallback;
	return (uint32_t)number;
}

/* Copies a buffer property into C memory; -1 when it does not fit. */
static long copy_bytes(napi_env env, napi_value options, const char* name, uint8_t* target, size_t capacity)
{
	napi_value value = property(env, options, name);
	const uint8_t* bytes;
	size_t count;
	if (!value || !bytes_of(env, value, &bytes, &count))
		return 0;
	if (count > capacity)
		return -1;
	memcpy(target, bytes, count);
	return (long)count;
}

static void finalize(napi_env env, void* data, void* hint)
{
	dtls_host* host = data;
	(void)env;
	(void)hint;
	if (!host)
		return;
	dtls_session_free(host->session);
	dtls_resume_free(host->resume);
	host->magic = 0;
	free(host);
}

static dtls_host* host_of(napi_env env, napi_value value)
{
	dtls_host* host = NULL;
	if (napi_unwrap(env, value, (void**)&host) != napi_ok || !host || host->magic != HOST_MAGIC)
		return NULL;
	return host;
}

static napi_value session_new(napi_env env, napi_callback_info info)
{
	uint8_t identity[DTLS_MAX_IDENTITY_LENGTH];
	uint8_t key[DTLS_MAX_PSK_LENGTH];
	uint8_t peer_id[64];
	size_t argc = 1;
	napi_value argv[1], self;
	dtls_options options;
	memset(&options, 0, sizeof(options));
	if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || argc < 1)
		return throw_error(env, "DTLS session: options expected");
	napi_value given = argv[0];
	options.role = get_number(env, given, "role", 0) == 1 ? DTLS_ROLE_SERVER : DTLS_ROLE_CLIENT;
	options.handshake_min_ms = get_number(env, given, "handshakeMinMs", 0);
	options.handshake_max_ms = get_number(env, given, "handshakeMaxMs", 0);
	options.mtu = (uint16_t)get_number(env, given, "mtu", 0);
	options.connection_id = get_number(env, given, "connectionId", 0) != 0;
	napi_value suites = property(env, given, "suites");
	uint32_t count = 0;
	if (suites && napi_get_array_length(env, suites, &count) == napi_ok) {
		for (uint32_t i = 0; i < count && i < DTLS_MAX_SUITES; i++) {
			napi_value item;
			uint32_t suite = 0;
			if (napi_get_element(env, suites, i, &item) == napi_ok && napi_get_value_uint32(env, item, &suite) == napi_ok)
				options.suites[i] = (uint16_t)suite;
		}
	}
	napi_value resume_from = property(env, given, "resumeFrom");
	if (resume_from) {
		dtls_host* earlier = host_of(env, resume_from);
		if (earlier)
			options.resume = earlier->resume;
	}
	long identity_length = copy_bytes(env, given, "identity", identity, sizeof(identity));
	long peer_id_length = copy_bytes(env, given, "peerId", peer_id, sizeof(peer_id));
	long key_length = copy_bytes(env, given, "key", key, sizeof(key));
	if (identity_length < 0 || peer_id_length < 0 || key_length < 0) {
		memset(key, 0, sizeof(key));
		return throw_error(env, "DTLS session not created: identity (128), key (64) or peerId (64 bytes) too long");
	}
	options.identity = identity;
	options.identity_length = (size_t)identity_length;
	options.peer_id = peer_id;
	options.peer_id_length = (size_t)peer_id_length;
	options.key = key;
	options.key_length = (size_t)key_length;

	dtls_host* host = calloc(1, sizeof(dtls_host));
	if (!host) {
		memset(key, 0, sizeof(key));
		return throw_error(env, "DTLS: out of memory");
	}
	host->magic = HOST_MAGIC;
	host->role = options.role;
	/* mbedtls_ssl_set_timer_cb calls onTimer at once: the callbacks must reach `this` already. */
	host->env = env;
	host->self = self;
	dtls_io io = { host, host_send, host_set_timer, host_deliver, host_psk_lookup };
	dtls_status status = dtls_session_new(&options, &io, &host->session);
	memset(key, 0, sizeof(key));
	host->env = NULL;
	host->self = NULL;
	if (status < 0) {
		free(host);
		char message[80];
		snprintf(message, sizeof(message), "DTLS session not created: %s", dtls_status_name(status));
		return throw_error(env, message);
	}
	if (napi_wrap(env, self, host, finalize, NULL, NULL) != napi_ok) {
		dtls_session_free(host->session);
		free(host);
		return throw_error(env, "DTLS session not created: wrap failed");
	}
	return NULL;
}

typedef enum { CALL_START, CALL_RECEIVE, CALL_TIMER, CALL_WRITE, CALL_CLOSE } call_kind;

/* Runs one core call with `this` reachable by the callbacks; nested calls (a write from onData) keep the outer context. */
static napi_value with_session(napi_env env, napi_callback_info info, call_kind kind)
{
	size_t argc = 1;
	napi_value argv[1] = { NULL }, self, result;
	if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok)
		return throw_error(env, "DTLS: bad call");
	dtls_host* host = host_of(env, self);
	if (!host)
		return throw_error(env, "not a DTLS session");
	const uint8_t* bytes = NULL;
	size_t length = 0;
	if ((kind == CALL_RECEIVE || kind == CALL_WRITE) && (argc < 1 || !bytes_of(env, argv[0], &bytes, &length)))
		return throw_error(env, "DTLS: a Uint8Array expected");
	napi_env saved_env = host->env;
	napi_value saved_self = host->self;
	host->env = env;
	host->self = self;
	dtls_status status = DTLS_STATUS_CLOSED;
	if (host->session) {
		switch (kind) {
		case CALL_START: status = dtls_session_start(host->session); break;
		/* dtls_session_receive copies the bytes before any callback runs. */
		case CALL_RECEIVE: status = dtls_session_receive(host->session, bytes, length); break;
		case CALL_TIMER: status = dtls_session_timer_expired(host->session); break;
		case CALL_WRITE: status = dtls_session_write(host->session, bytes, length); break;
		case CALL_CLOSE: dtls_session_close(host->session); status = DTLS_STATUS_CLOSED; break;
		}
	}
	host->env = saved_env;
	host->self = saved_self;
	if (status == DTLS_STATUS_CONNECTED && host->role == DTLS_ROLE_CLIENT && host->session) {
		dtls_resume* fresh = dtls_resume_take(host->session);
		if (fresh) {
			dtls_resume_free(host->resume);
			host->resume = fresh;
		}
	}
	napi_create_int32(env, status, &result);
	return result;
}

static napi_value session_start(napi_env env, napi_callback_info info) { return with_session(env, info, CALL_START); }
static napi_value session_receive(napi_env env, napi_callback_info info) { return with_session(env, info, CALL_RECEIVE); }
static napi_value session_timer_expired(napi_env env, napi_callback_info info) { return with_session(env, info, CALL_TIMER); }
static napi_value session_write(napi_env env, napi_callback_info info) { return with_session(env, info, CALL_WRITE); }
static napi_value session_close(napi_env env, napi_callback_info info) { return with_session(env, info, CALL_CLOSE); }

static napi_value session_forget_resume(napi_env env, napi_callback_info info)
{
	napi_value self;
	if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) == napi_ok) {
		dtls_host* host = host_of(env, self);
		if (host) {
			dtls_resume_free(host->resume);
			host->resume = NULL;
		}
	}
	return NULL;
}

static void set_number(napi_env env, napi_value object, const char* name, double value)
{
	napi_value number;
	if (napi_create_double(env, value, &number) == napi_ok)
		napi_set_named_property(env, object, name, number);
}

static void set_boolean(napi_env env, napi_value object, const char* name, int value)
{
	napi_value boolean;
	if (napi_get_boolean(env, value != 0, &boolean) == napi_ok)
		napi_set_named_property(env, object, name, boolean);
}

static napi_value session_stats(napi_env env, napi_callback_info info)
{
	napi_value self, result;
	dtls_stats stats;
	memset(&stats, 0, sizeof(stats));
	if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok || napi_create_object(env, &result) != napi_ok)
		return NULL;
	dtls_host* host = host_of(env, self);
	if (host && host->session)
		dtls_session_stats(host->session, &stats);
	set_number(env, result, "flightsSent", stats.flights_sent);
	set_number(env, result, "datagramsSent", stats.datagrams_sent);
	set_number(env, result, "datagramsReceived", stats.datagrams_received);
	set_number(env, result, "bytesSent", stats.bytes_sent);
	set_number(env, result, "bytesReceived", stats.bytes_received);
	set_number(env, result, "handshakeDatagramsSent", stats.handshake_datagrams_sent);
	set_number(env, result, "handshakeDatagramsReceived", stats.handshake_datagrams_received);
	set_number(env, result, "handshakeBytesSent", stats.handshake_bytes_sent);
	set_number(env, result, "handshakeBytesReceived", stats.handshake_bytes_received);
	set_number(env, result, "retransmissions", stats.retransmissions);
	set_number(env, result, "libraryError", stats.library_error);
	set_number(env, result, "suite", stats.suite);
	set_number(env, result, "maxPlaintext", host && host->session ? (double)dtls_session_max_plaintext(host->session) : 0);
	set_boolean(env, result, "resumed", stats.resumed);
	set_boolean(env, result, "connectionId", stats.connection_id_in_use);
	set_boolean(env, result, "resumable", host && host->resume != NULL);
	return result;
}

static napi_value live_sessions(napi_env env, napi_callback_info info)
{
	napi_value result;
	(void)info;
	napi_create_int32(env, dtls_live_sessions(), &result);
	return result;
}

static napi_value live_resumes(napi_env env, napi_callback_info info)
{
	napi_value result;
	(void)info;
	napi_create_int32(env, dtls_live_resumes(), &result);
	return result;
}

static napi_value heap_in_use(napi_env env, napi_callback_info info)
{
	napi_value result;
	(void)info;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	napi_create_double(env, (double)mallinfo2().uordblks, &result);
#else
	napi_create_int32(env, -1, &result);
#endif
	return result;
}

static napi_value connection_id_supported(napi_env env, napi_callback_info info)
{
	napi_value result;
	(void)info;
	napi_get_boolean(env, dtls_connection_id_supported() != 0, &result);
	return result;
}

NAPI_MODULE_INIT()
{
	napi_property_descriptor methods[] = {
		{ "start", NULL, session_start, NULL, NULL, NULL, napi_default, NULL },
		{ "receive", NULL, session_receive, NULL, NULL, NULL, napi_default, NULL },
		{ "timerExpired", NULL, session_timer_expired, NULL, NULL, NULL, napi_default, NULL },
		{ "write", NULL, session_write, NULL, NULL, NULL, napi_default, NULL },
		{ "close", NULL, session_close, NULL, NULL, NULL, napi_default, NULL },
		{ "forgetResume", NULL, session_forget_resume, NULL, NULL, NULL, napi_default, NULL },
		{ "stats", NULL, session_stats, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_value session_class;
	if (napi_define_class(env, "Session", NAPI_AUTO_LENGTH, session_new, NULL, sizeof(methods) / sizeof(methods[0]), methods, &session_class) != napi_ok)
		return NULL;
	napi_property_descriptor exported[] = {
		{ "Session", NULL, NULL, NULL, NULL, session_class, napi_default, NULL },
		{ "liveSessions", NULL, live_sessions, NULL, NULL, NULL, napi_default, NULL },
		{ "liveResumes", NULL, live_resumes, NULL, NULL, NULL, napi_default, NULL },
		{ "heapInUse", NULL, heap_in_use, NULL, NULL, NULL, napi_default, NULL },
		{ "connectionIdSupported", NULL, connection_id_supported, NULL, NULL, NULL, napi_default, NULL },
	};
	if (napi_define_properties(env, exports, sizeof(exported) / sizeof(exported[0]), exported) != napi_ok)
		return NULL;
	if (crypto_napi_register(env, exports) != napi_ok)
		return NULL;
	return exports;
}
