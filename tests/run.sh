#!/bin/sh
# Runs every test: the cmocka unit tests and the integration scripts,
# against the binaries in the given build directory (sanitizer build).
# Prints one line per test and "N passed, N failed" at the end.
set -u
BUILD=${1:-build/san}
export ISMS_BIN="$PWD/$BUILD"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
# a configuration installed on this machine (/etc/ismsd) is not the tests'
export ISMSD_CONFIG=/dev/null
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
LOGDIR=$(mktemp -d /tmp/isms-tests-XXXXXX)
mkdir -p "$LOGDIR/unit" "$LOGDIR/integration"
pass=0
fail=0
failed=""
run() {
	name=$1
	shift
	start=$(date +%s)
	if timeout 600 "$@" >"$LOGDIR/$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "ok    $name ($(($(date +%s) - start)) s)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL  $name ($(($(date +%s) - start)) s)"
		sed 's/^/      /' "$LOGDIR/$name.log" | tail -60
	fi
}
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	if [ -n "${ONLY:-}" ] && ! echo "$t" | grep -q "$ONLY"; then continue; fi
	run "integration/$(basename "$t" .sh)" sh "$t"
done
mkdir -p "$LOGDIR/fuzz"
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	if [ -n "${ONLY:-}" ] && ! echo "$f" | grep -q "$ONLY"; then continue; fi
	run "fuzz/$(basename "$f")" tests/fuzz/run.sh "${FUZZ_SECONDS:-5}" "$(basename "$f")"
done
rm -rf "$LOGDIR"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
