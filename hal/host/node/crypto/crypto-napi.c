/*
 * Node (N-API) binding of modules/crypto/crypto-core.c's ECDSA P-256 check,
 * linked into the DTLS addon (build-native/dtls-node.node): dtls-napi.c's
 * module initialiser calls crypto_napi_register. Node hashes with its own
 * SHA-256 (node-crypto.ts); node:crypto cannot verify a bare digest.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include "crypto-core.h"

/* The bytes of a TypedArray, DataView or ArrayBuffer, or 0 when `value` is none of them. */
static int bytes_of(napi_env env, napi_value value, const uint8_t** data, size_t* length)
{
	bool is;
	void* bytes = NULL;
	if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
		napi_typedarray_type type;
		size_t count, offset;
		napi_value buffer;
		if (napi_get_typedarray_info(env, value, &type, &count, &bytes, &buffer, &offset) != napi_ok || type != napi_uint8_array)
			return 0;
		*data = bytes;
		*length = count;
		return 1;
	}
	if (napi_is_arraybuffer(env, value, &is) == napi_ok && is) {
		if (napi_get_arraybuffer_info(env, value, &bytes, length) != napi_ok)
			return 0;
		*data = bytes;
		return 1;
	}
	return 0;
}

/* verifyP256(publicKey, digest, signature): false for anything that is not a valid signature; throws only when out of memory. */
static napi_value verify_p256(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	napi_value result;
	const uint8_t* key = NULL;
	const uint8_t* digest = NULL;
	const uint8_t* signature = NULL;
	size_t key_length = 0, digest_length = 0, signature_length = 0;
	crypto_status status = CRYPTO_INVALID;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return NULL;
	if (argc >= 3 && bytes_of(env, argv[0], &key, &key_length) && bytes_of(env, argv[1], &digest, &digest_length)
		&& bytes_of(env, argv[2], &signature, &signature_length))
		status = crypto_verify_p256(key, key_length, digest, digest_length, signature, signature_length);
	if (status == CRYPTO_NO_MEMORY || status == CRYPTO_FAILED) {
		napi_throw_error(env, NULL, status == CRYPTO_NO_MEMORY ? "ECDSA P-256: out of memory, nothing verified" : "ECDSA P-256: the verification could not run");
		return NULL;
	}
	napi_get_boolean(env, status == CRYPTO_VALID, &result);
	return result;
}

napi_status crypto_napi_register(napi_env env, napi_value exports)
{
	napi_property_descriptor exported[] = {
		{ "verifyP256", NULL, verify_p256, NULL, NULL, NULL, napi_default, NULL },
	};
	return napi_define_properties(env, exports, sizeof(exported) / sizeof(exported[0]), exported);
}
