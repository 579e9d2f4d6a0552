#!/bin/sh
# build_net.sh - standalone ASan+UBSan build and run of the gateway network
# modules (http, ws, httpd) and their cmocka tests, into /tmp/netbuild.
# Usage: tests/unit/build_net.sh [--no-run] [--fuzz SECONDS]
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${NETBUILD_DIR:-/tmp/netbuild}
CC=${CC:-gcc}
RUN=1
FUZZ_SECS=0

while [ $# -gt 0 ]; do
	case "$1" in
	--no-run) RUN=0 ;;
	--fuzz) FUZZ_SECS=$2; shift ;;
	*) echo "usage: $0 [--no-run] [--fuzz SECONDS]" >&2; exit 2 ;;
	esac
	shift
done

mkdir -p "$OUT"

WARN="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wformat=2 -Wwrite-strings -Werror"
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
PKGS="libcurl libwebsockets libuv cmocka openssl"
PCFLAGS=$(pkg-config --cflags $PKGS)
PLIBS=$(pkg-config --libs $PKGS)

compile() {
	# $1 = output, rest = sources
	o=$1; shift
	echo "CC $o"
	# shellcheck disable=SC2086
	$CC $WARN $SAN -g -O1 $PCFLAGS -I"$ROOT" -o "$OUT/$o" "$@" $PLIBS -lpthread
}

compile test_http "$ROOT/tests/unit/test_http.c" "$ROOT/gateway/http.c"
compile test_ws "$ROOT/tests/unit/test_ws.c" "$ROOT/gateway/ws.c"
compile test_httpd "$ROOT/tests/unit/test_httpd.c" "$ROOT/gateway/httpd.c"

# The fuzz harness needs clang's libFuzzer; when clang is missing it is only
# compiled with a small driver main() so that it at least builds.
if command -v clang >/dev/null 2>&1; then
	echo "CC fuzz_httpd (libFuzzer)"
	# shellcheck disable=SC2086
	clang $WARN -g -O1 -fsanitize=fuzzer,address,undefined \
		-I"$ROOT" -o "$OUT/fuzz_httpd" \
		"$ROOT/tests/fuzz/fuzz_httpd.c" "$ROOT/gateway/httpd.c" \
		$(pkg-config --cflags --libs libuv)
fi

[ "$RUN" = 1 ] || exit 0

cd "$ROOT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export NET_TEST_PEERS_DIR="$ROOT/tests/unit/peers"
status=0
for t in test_http test_ws test_httpd; do
	echo "== $t"
	if ! timeout 120 "$OUT/$t"; then
		echo "FAILED: $t" >&2
		status=1
	fi
done

if [ -x "$OUT/fuzz_httpd" ] && [ "$FUZZ_SECS" -gt 0 ]; then
	echo "== fuzz_httpd (${FUZZ_SECS}s)"
	mkdir -p "$OUT/fuzz_corpus"
	seeds=
	[ -d "$ROOT/tests/fuzz/corpus/httpd" ] && seeds="$ROOT/tests/fuzz/corpus/httpd"
	# shellcheck disable=SC2086
	"$OUT/fuzz_httpd" -max_total_time="$FUZZ_SECS" -max_len=70000 \
		"$OUT/fuzz_corpus" $seeds || status=1
fi
exit $status
