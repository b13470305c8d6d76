/*
 * XS binding of dtls-core: the host class of native.js. Callbacks reach
 * script only while one of its host functions runs (mbedtls calls back from
 * inside them), so no script object is kept alive from C and the garbage
 * collector may run the destructor, which frees everything that is left.
 */
#include "xsmc.h"
#include "dtls-core.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
	#include <malloc.h>
#endif

#define HOST_MAGIC 0x44544c53

typedef struct {
	uint32_t magic;
	dtls_session* session;
	dtls_resume* resume;
	dtls_role role;
	xsMachine* the;
	xsSlot* self;
} dtls_host;

/*
 * Callbacks run inside a host function of this file, whose frame reserved two
 * variables (CALLBACK_VARS): xsVar(0) holds the argument, xsVar(1) the result,
 * both reachable by the garbage collector while script runs.
 */
#define CALLBACK_VARS 2

static int call_back(dtls_host* host, const char* method, const uint8_t* data, size_t length, int number)
{
	xsMachine* the = host->the;
	int ok = 1;
	if (!the)
		return 0;
	xsTry {
		xsIdentifier id = xsID(method);
		if (data)
			xsmcSetArrayBuffer(xsVar(0), (void*)data, (xsIntegerValue)length);
		else
			xsmcSetInteger(xsVar(0), number);
		xsmcCall(xsVar(1), *host->self, id, &xsVar(0), NULL);
	}
	xsCatch {
		ok = 0;
	}
	return ok;
}

static int host_send(void* user, const uint8_t* data, size_t length)
{
	dtls_host* host = user;
	if (!call_back(host, "onSend", data, length, 0))
		return -1;
	xsMachine* the = host->the;
	return xsmcTest(xsVar(1)) ? 0 : -1;
}

static void host_set_timer(void* user, uint32_t final_ms)
{
	call_back(user, "onTimer", NULL, 0, (int)final_ms);
}

static void host_deliver(void* user, const uint8_t* data, size_t length)
{
	call_back(user, "onData", data, length, 0);
}

static int host_psk_lookup(void* user, const uint8_t* identity, size_t identity_length, uint8_t* key, size_t capacity)
{
	dtls_host* host = user;
	int length = -1;
	if (!call_back(host, "onPskLookup", identity, identity_length, 0))
		return -1;
	xsMachine* the = host->the;
	if (xsmcTypeOf(xsVar(1)) == xsReferenceType) {
		void* bytes;
		xsUnsignedValue count;
		xsTry {
			xsmcGetBufferReadable(xsVar(1), &bytes, &count);
			if (count > 0 && count <= capacity) {
				memcpy(key, bytes, count);
				length = (int)count;
			}
		}
		xsCatch {
			length = -1;
		}
	}
	xsmcSetUndefined(xsVar(1));
	return length;
}

/* Copies a buffer property of `options` into C memory before anything else may run script. */
static size_t copy_bytes(xsMachine* the, const char* name, uint8_t* target, size_t capacity)
{
	xsmcGet(xsVar(0), xsArg(0), xsID(name));
	if (xsmcTypeOf(xsVar(0)) != xsReferenceType)
		return 0;
	void* bytes;
	xsUnsignedValue count;
	xsmcGetBufferReadable(xsVar(0), &bytes, &count);
	if (count > capacity)
		xsRangeError("%s: at most %d bytes", name, (int)capacity);
	memcpy(target, bytes, count);
	return count;
}

static uint32_t get_number(xsMachine* the, const char* name, uint32_t fallback)
{
	xsmcGet(xsVar(0), xsArg(0), xsID(name));
	if (xsmcTypeOf(xsVar(0)) == xsUndefinedType)
		return fallback;
	int value = xsmcToInteger(xsVar(0));
	return value < 0 ? fallback : (uint32_t)value;
}

void xs_dtls_session_destructor(void* data)
{
	dtls_host* host = data;
	if (!host)
		return;
	dtls_session_free(host->session);
	dtls_resume_free(host->resume);
	free(host);
}

void xs_dtls_session(xsMachine* the)
{
	uint8_t identity[DTLS_MAX_IDENTITY_LENGTH];
	uint8_t key[DTLS_MAX_PSK_LENGTH];
	uint8_t peer_id[64];
	dtls_options options;
	memset(&options, 0, sizeof(options));
	xsmcVars(2);
	options.role = get_number(the, "role", 0) == 1 ? DTLS_ROLE_SERVER : DTLS_ROLE_CLIENT;
	options.handshake_min_ms = get_number(the, "handshakeMinMs", 0);
	options.handshake_max_ms = get_number(the, "handshakeMaxMs", 0);
	options.mtu = (uint16_t)get_number(the, "mtu", 0);
	options.connection_id = get_number(the, "connectionId", 0) != 0;
	xsmcGet(xsVar(1), xsArg(0), xsID("suites"));
	if (xsmcTypeOf(xsVar(1)) == xsReferenceType) {
		xsmcGet(xsVar(0), xsVar(1), xsID("length"));
		int count = xsmcToInteger(xsVar(0));
		for (int i = 0; i < count && i < DTLS_MAX_SUITES; i++) {
			xsmcGetIndex(xsVar(0), xsVar(1), i);
			options.suites[i] = (uint16_t)xsmcToInteger(xsVar(0));
		}
	}
	xsmcGet(xsVar(1), xsArg(0), xsID("resumeFrom"));
	if (xsmcTypeOf(xsVar(1)) == xsReferenceType) {
		dtls_host* earlier = xsmcGetHostData(xsVar(1));
		if (earlier && earlier->magic == HOST_MAGIC)
			options.resume = earlier->resume;
	}
	options.identity = identity;
	options.identity_length = copy_bytes(the, "identity", identity, sizeof(identity));
	options.peer_id = peer_id;
	options.peer_id_length = copy_bytes(the, "peerId", peer_id, sizeof(peer_id));
	options.key = key;
	options.key_length = copy_bytes(the, "key", key, sizeof(key));

	dtls_host* host = calloc(1, sizeof(dtls_host));
	if (!host) {
		memset(key, 0, sizeof(key));
		xsUnknownError("DTLS: out of memory");
	}
	host->magic = HOST_MAGIC;
	host->role = options.role;
	dtls_io io = { host, host_send, host_set_timer, host_deliver, host_psk_lookup };
	dtls_status status = dtls_session_new(&options, &io, &host->session);
	memset(key, 0, sizeof(key));
	if (status < 0) {
		free(host);
		xsUnknownError("DTLS session not created: %s", dtls_status_name(status));
	}
	xsmcSetHostData(xsThis, host);
}

static dtls_host* enter(xsMachine* the, xsMachine** saved_the, xsSlot** saved_self)
{
	dtls_host* host = xsmcGetHostData(xsThis);
	if (!host || host->magic != HOST_MAGIC)
		xsUnknownError("not a DTLS session");
	*saved_the = host->the;
	*saved_self = host->self;
	host->the = the;
	host->self = &xsThis;
	return host;
}

static void leave(xsMachine* the, dtls_host* host, dtls_status status, xsMachine* saved_the, xsSlot* saved_self)
{
	host->the = saved_the;
	host->self = saved_self;
	if (status == DTLS_STATUS_CONNECTED && host->role == DTLS_ROLE_CLIENT && host->session) {
		dtls_resume* fresh = dtls_resume_take(host->session);
		if (fresh) {
			dtls_resume_free(host->resume);
			host->resume = fresh;
		}
	}
	xsmcSetInteger(xsResult, status);
}

#define WITH_SESSION(call) \
	xsmcVars(CALLBACK_VARS); \
	xsMachine* saved_the; \
	xsSlot* saved_self; \
	dtls_host* host = enter(the, &saved_the, &saved_self); \
	dtls_status status = host->session ? (call) : DTLS_STATUS_CLOSED; \
	leave(the, host, status, saved_the, saved_self)

void xs_dtls_session_start(xsMachine* the)
{
	WITH_SESSION(dtls_session_start(host->session));
}

void xs_dtls_session_receive(xsMachine* the)
{
	void* bytes;
	xsUnsignedValue count;
	xsmcGetBufferReadable(xsArg(0), &bytes, &count);
	/* dtls_session_receive copies the bytes before any callback can move them. */
	WITH_SESSION(dtls_session_receive(host->session, bytes, count));
}

void xs_dtls_session_timer_expired(xsMachine* the)
{
	WITH_SESSION(dtls_session_timer_expired(host->session));
}

void xs_dtls_session_write(xsMachine* the)
{
	void* bytes;
	xsUnsignedValue count;
	xsmcGetBufferReadable(xsArg(0), &bytes, &count);
	WITH_SESSION(dtls_session_write(host->session, bytes, count));
}

void xs_dtls_session_close(xsMachine* the)
{
	xsMachine* saved_the;
	xsSlot* saved_self;
	xsmcVars(CALLBACK_VARS);
	dtls_host* host = enter(the, &saved_the, &saved_self);
	if (host->session)
		dtls_session_close(host->session);
	leave(the, host, DTLS_STATUS_CLOSED, saved_the, saved_self);
}

void xs_dtls_session_forget_resume(xsMachine* the)
{
	dtls_host* host = xsmcGetHostData(xsThis);
	if (!host || host->magic != HOST_MAGIC)
		return;
	dtls_resume_free(host->resume);
	host->resume = NULL;
}

static void set_stat(xsMachine* the, const char* name, int value)
{
	xsmcSetInteger(xsVar(0), value);
	xsmcSet(xsResult, xsID(name), xsVar(0));
}

void xs_dtls_session_stats(xsMachine* the)
{
	dtls_host* host = xsmcGetHostData(xsThis);
	dtls_stats stats;
	memset(&stats, 0, sizeof(stats));
	if (host && host->magic == HOST_MAGIC && host->session)
		dtls_session_stats(host->session, &stats);
	xsmcVars(1);
	xsmcSetNewObject(xsResult);
	set_stat(the, "flightsSent", (int)stats.flights_sent);
	set_stat(the, "datagramsSent", (int)stats.datagrams_sent);
	set_stat(the, "datagramsReceived", (int)stats.datagrams_received);
	set_stat(the, "bytesSent", (int)stats.bytes_sent);
	set_stat(the, "bytesReceived", (int)stats.bytes_received);
	set_stat(the, "handshakeDatagramsSent", (int)stats.handshake_datagrams_sent);
	set_stat(the, "handshakeDatagramsReceived", (int)stats.handshake_datagrams_received);
	set_stat(the, "handshakeBytesSent", (int)stats.handshake_bytes_sent);
	set_stat(the, "handshakeBytesReceived", (int)stats.handshake_bytes_received);
	set_stat(the, "retransmissions", (int)stats.retransmissions);
	set_stat(the, "libraryError", stats.library_error);
	set_stat(the, "suite", stats.suite);
	set_stat(the, "maxPlaintext", host && host->session ? (int)dtls_session_max_plaintext(host->session) : 0);
	xsmcSetBoolean(xsVar(0), stats.resumed);
	xsmcSet(xsResult, xsID("resumed"), xsVar(0));
	xsmcSetBoolean(xsVar(0), stats.connection_id_in_use);
	xsmcSet(xsResult, xsID("connectionId"), xsVar(0));
	xsmcSetBoolean(xsVar(0), host && host->resume != NULL);
	xsmcSet(xsResult, xsID("resumable"), xsVar(0));
}

void xs_dtls_live_sessions(xsMachine* the)
{
	xsmcSetInteger(xsResult, dtls_live_sessions());
}

void xs_dtls_live_resumes(xsMachine* the)
{
	xsmcSetInteger(xsResult, dtls_live_resumes());
}

void xs_dtls_heap_in_use(xsMachine* the)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	xsmcSetNumber(xsResult, (xsNumberValue)mallinfo2().uordblks);
#else
	xsmcSetInteger(xsResult, -1);
#endif
}

void xs_dtls_connection_id_supported(xsMachine* the)
{
	xsmcSetBoolean(xsResult, dtls_connection_id_supported());
}

/* randomFill(view): bytes from the shared CTR-DRBG (PSA with mbedtls 4.0) into an ArrayBuffer or a view. */
void xs_dtls_random_fill(xsMachine* the)
{
	void* bytes;
	xsUnsignedValue count;
	xsmcGetBufferWritable(xsArg(0), &bytes, &count);
	/* No script runs during the fill: the bytes cannot move. */
	if (dtls_random_fill(bytes, count) != 0)
		xsUnknownError("DTLS: the random generator failed");
}
