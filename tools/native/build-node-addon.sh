#!/usr/bin/env bash
# Builds the Node (N-API) binding of the DTLS core (modules/dtls/dtls-core.c,
# dtls-shared.c, hal/host/node/dtls/dtls-napi.c) and of the crypto core's ECDSA
# check (modules/crypto/crypto-core.c, hal/host/node/crypto/crypto-napi.c) into build-native/dtls-node.node
# with plain `cc -shared -fPIC` (no node-gyp, no network). Runs at npm install.
# It never fails the install: when something is missing it says what in
# build-native/dtls-node.status, and Node code runs without DTLS.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build-native"
addon="$out/dtls-node.node"
status="$out/dtls-node.status"
mkdir -p "$out"

# npm hides install scripts' output: the reason also goes to a file that node-dtls.ts reports.
skip() {
  echo "$1" > "$status"
  rm -f "$addon"
  echo "Node DTLS addon not built: $1" >&2
  echo "  (Node code runs without DTLS: the development server has no coaps:// endpoint.)" >&2
  exit 0
}

[ "${NODE_DTLS_ADDON:-}" = "off" ] && skip "NODE_DTLS_ADDON=off"
[ "$(uname -s)" = "Linux" ] || skip "only Linux hosts are supported (uname: $(uname -s))"
command -v cc >/dev/null 2>&1 || skip "a C compiler is missing: apt-get install gcc"

# node_api.h: NODE_INCLUDE_DIR, else beside the running node, else the system's (Debian: nodejs or libnode-dev).
node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")' 2>/dev/null || echo /usr)
include=""
for dir in ${NODE_INCLUDE_DIR:-} "$node_prefix/include/node" /usr/include/node /usr/local/include/node; do
  if [ -f "$dir/node_api.h" ]; then include=$dir; break; fi
done
[ -n "$include" ] || skip "node_api.h is missing (Node's headers): apt-get install libnode-dev, or set NODE_INCLUDE_DIR"

mbedtls_cflags=${MBEDTLS_INCLUDE_DIR:+-I$MBEDTLS_INCLUDE_DIR}
mbedtls_ldflags=${MBEDTLS_LIB_DIR:+-L$MBEDTLS_LIB_DIR}
if ! printf '#include <mbedtls/ssl.h>\n#include <mbedtls/ssl_cookie.h>\n#ifndef MBEDTLS_SSL_PROTO_DTLS\n#error no DTLS\n#endif\n' \
    | cc -E $mbedtls_cflags -x c - -o /dev/null >/dev/null 2>&1; then
  skip "mbedtls headers with DTLS are missing: apt-get install libmbedtls-dev"
fi

# The core's C files (every modules/dtls/dtls-*.c but the XS binding), then the N-API binding.
sources=()
for file in "$root"/modules/dtls/dtls-*.c; do [ "$(basename "$file")" = dtls-xs.c ] || sources+=("$file"); done
sources+=("$root/hal/host/node/dtls/dtls-napi.c" "$root/modules/crypto/crypto-core.c" "$root/hal/host/node/crypto/crypto-napi.c")
# Incremental: nothing to do when the addon is newer than every source and header.
if [ -f "$addon" ] && [ ! -f "$status" ]; then
  newer=$(find "${sources[@]}" "$root/modules/dtls" "$root/modules/crypto" -name '*.[ch]' -newer "$addon" 2>/dev/null | head -n 1)
  [ -z "$newer" ] && { echo "Node DTLS addon up to date: ${addon#$root/}"; exit 0; }
fi
log="$out/dtls-node.log"
if ! cc -shared -fPIC -O2 -Wall -o "$addon.tmp" -I"$include" -I"$root/modules/dtls" -I"$root/modules/crypto" $mbedtls_cflags "${sources[@]}" \
    $mbedtls_ldflags -lmbedtls -lmbedx509 -lmbedcrypto >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$addon.tmp"
  skip "the build failed (log: $log); the mbedtls libraries come with apt-get install libmbedtls-dev"
fi
mv "$addon.tmp" "$addon"
if ! node -e 'require(process.argv[1]).liveSessions()' "$addon" >"$log" 2>&1; then
  cat "$log" >&2
  skip "the addon was built but does not load in this node (log: $log)"
fi
rm -f "$status"
echo "Node DTLS addon built: ${addon#$root/}"
