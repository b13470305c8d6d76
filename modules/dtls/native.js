// The mbedtls DTLS binding (dtls-xs.c). Plain JavaScript: TypeScript cannot
// parse host declarations ("@"); native.d.ts describes this module.

class HostSession @ "xs_dtls_session_destructor" {
	constructor(options) @ "xs_dtls_session";
	start() @ "xs_dtls_session_start";
	receive(datagram) @ "xs_dtls_session_receive";
	timerExpired() @ "xs_dtls_session_timer_expired";
	write(plaintext) @ "xs_dtls_session_write";
	close() @ "xs_dtls_session_close";
	forgetResume() @ "xs_dtls_session_forget_resume";
	stats() @ "xs_dtls_session_stats";
}

function liveSessions() @ "xs_dtls_live_sessions";
function liveResumes() @ "xs_dtls_live_resumes";
function heapInUse() @ "xs_dtls_heap_in_use";
function connectionIdSupported() @ "xs_dtls_connection_id_supported";
function randomFill(target) @ "xs_dtls_random_fill";

// C calls back onSend/onTimer/onData/onPskLookup on the session only while one
// of its host functions runs; they forward to the callbacks given.
class NativeDtlsSession extends HostSession {
	#callbacks;
	constructor(options, callbacks) {
		super(options);
		this.#callbacks = callbacks;
	}
	onSend(datagram) {
		return this.#callbacks.send(datagram);
	}
	onTimer(delayMs) {
		this.#callbacks.setTimer(delayMs);
	}
	onData(plaintext) {
		this.#callbacks.deliver(plaintext);
	}
	onPskLookup(identity) {
		return this.#callbacks.pskLookup ? this.#callbacks.pskLookup(identity) : undefined;
	}
}

export const dtlsEngine = Object.freeze({
	createSession: (options, callbacks) => new NativeDtlsSession(options, callbacks),
	liveSessions,
	liveResumes,
	heapInUse,
	connectionIdSupported,
});

// Random bytes from the engine's shared CTR-DRBG, seeded by the platform's
// entropy source (PSA's generator with mbedtls 4.0): the Moddable port's
// random source where the binding is linked.
export const dtlsRandom = Object.freeze({
	fill(target) {
		randomFill(target);
	},
});
