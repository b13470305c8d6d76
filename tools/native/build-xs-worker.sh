#!/usr/bin/env bash
# Builds the XS worker with the DTLS binding (modules/dtls) and the crypto binding
# (modules/crypto: SHA-256, ECDSA P-256 for firmware packages) from @agoric/xsnap's
# own sources and makefiles, into build-native/xsnap-dtls/. Runs at npm install.
# It never fails the install: when something is missing it says what, and the
# stock worker (plain UDP, no DTLS) keeps being used.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build-native/xsnap-dtls"
worker="$out/bin/lin/release/xsnap-worker"

status="$root/build-native/xsnap-dtls.status"

# npm hides install scripts' output: the reason also goes to a file the host runner reports.
skip() {
  mkdir -p "$(dirname "$status")"
  echo "$1" > "$status"
  echo "DTLS worker not built: $1" >&2
  echo "  (XS keeps running on @agoric/xsnap's stock worker: plain UDP works, coaps:// does not.)" >&2
  exit 0
}

[ "${XS_DTLS_WORKER:-}" = "off" ] && skip "XS_DTLS_WORKER=off"
[ "$(uname -s)" = "Linux" ] || skip "only Linux hosts are supported (uname: $(uname -s))"
pkg=$(cd "$root" && node -e 'console.log(require("path").dirname(require.resolve("@agoric/xsnap/package.json")))' 2>/dev/null) \
  || skip "@agoric/xsnap is not installed"
makefiles="$pkg/xsnap-native/xsnap/makefiles/lin"
[ -f "$makefiles/xsnap-worker.mk" ] || skip "$makefiles/xsnap-worker.mk is missing"
[ -x "$pkg/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker" ] \
  || skip "@agoric/xsnap did not build its own worker (its install script needs make and a C compiler)"
command -v make >/dev/null 2>&1 || skip "make is missing: apt-get install make"
command -v cc >/dev/null 2>&1 || skip "a C compiler is missing: apt-get install gcc"

mbedtls_cflags=${MBEDTLS_INCLUDE_DIR:+-I$MBEDTLS_INCLUDE_DIR}
mbedtls_ldflags=${MBEDTLS_LIB_DIR:+-L$MBEDTLS_LIB_DIR}
if ! printf '#include <mbedtls/ssl.h>\n#include <mbedtls/ssl_cookie.h>\n#ifndef MBEDTLS_SSL_PROTO_DTLS\n#error no DTLS\n#endif\n' \
    | cc -E $mbedtls_cflags -x c - -o /dev/null >/dev/null 2>&1; then
  skip "mbedtls headers with DTLS are missing: apt-get install libmbedtls-dev"
fi

overlay="$out/overlay"
mkdir -p "$overlay"
# The package's platform file with its module loader renamed away; ours is appended.
sed 's/^void fxLoadModule(txMachine\* the, txSlot\* module, txID moduleID)$/void fxLoadModuleStock(txMachine* the, txSlot* module, txID moduleID)/' \
  "$pkg/xsnap-native/xsnap/sources/xsnapPlatform.c" > "$overlay/xsnapPlatform.c.new"
grep -q '^void fxLoadModuleStock(' "$overlay/xsnapPlatform.c.new" \
  || skip "xsnapPlatform.c of @agoric/xsnap $(node -p "require('$pkg/package.json').version") has no fxLoadModule to replace"
echo '#include "xs-host-loader.c"' >> "$overlay/xsnapPlatform.c.new"
for file in xsnapPlatform.c; do
  cmp -s "$overlay/$file.new" "$overlay/$file" && rm "$overlay/$file.new" || mv "$overlay/$file.new" "$overlay/$file"
done
cmp -s "$root/tools/native/xs-host-loader.c" "$overlay/xs-host-loader.c" || cp "$root/tools/native/xs-host-loader.c" "$overlay/"

# The same configuration as the package's own build (src/build.js, build.config.env).
version=$(node -p "require('$pkg/package.json').version")
if ! make -C "$makefiles" -f "$root/tools/native/xsnap-dtls.mk" \
    "MODDABLE=$pkg/moddable" GOAL=release "XSNAP_VERSION=$version" 'CC=cc "-D__has_builtin(x)=1"' \
    "BUILD_DIR=$out" "OVERLAY_DIR=$overlay" "DTLS_DIR=$root/modules/dtls" "CRYPTO_DIR=$root/modules/crypto" \
    "MBEDTLS_CFLAGS=$mbedtls_cflags" "MBEDTLS_LDFLAGS=$mbedtls_ldflags" >"$out/build.log" 2>&1; then
  tail -n 20 "$out/build.log" >&2
  skip "the build failed (log: $out/build.log); the mbedtls libraries come with apt-get install libmbedtls-dev"
fi
rm -f "$status"
echo "DTLS worker built: ${worker#$root/}"
