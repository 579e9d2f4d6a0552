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
# A throwaway PostgreSQL cluster (scripts/pg-cluster.sh) for the second
# engine: its URL is ISMS_PG_URL. In the background while the integration
# scripts run on SQLite, the unit tests run a second time on it
# (ISMS_TEST_PG), then the integration scripts marked "# engines: sqlite
# pg" (ISMS_TEST_ENGINE=pg: a schema each; no script takes a fixed port).
PGDIR=""
pg_stop() {
	[ -n "$PGDIR" ] && scripts/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1
	PGDIR=""
}
trap 'pg_stop' EXIT
trap 'pg_stop; exit 130' INT TERM
if [ -z "${ISMS_PG_URL:-}" ] && [ "${ISMS_NO_PG:-0}" != 1 ]; then
	PGDIR=$(mktemp -d /tmp/isms-pg-XXXXXX)
	rmdir "$PGDIR"
	# the tests kill gateways, never the server: commits need no fsync
	if ISMS_PG_URL=$(PG_DURABLE=off scripts/pg-cluster.sh start "$PGDIR" \
	    2>"$LOGDIR/pg.log"); then
		export ISMS_PG_URL
	else
		fail=$((fail + 1))
		failed="$failed postgresql"
		echo "FAIL  postgresql (the test cluster did not start)"
		sed 's/^/      /' "$LOGDIR/pg.log" | tail -20
		PGDIR=""
		ISMS_PG_URL=""
	fi
fi
unset ISMS_TEST_PG
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" "$t"
done
# the unit tests on PostgreSQL, two at a time, results in $LOGDIR/pg-unit
pg_unit() {
	mkdir -p "$LOGDIR/unit-pg"
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] && echo "$t"
	done | xargs -P 2 -I{} sh -c '
		n=$(basename {}); start=$(date +%s)
		if ISMS_TEST_PG="$ISMS_PG_URL" timeout 600 {} \
		    >"$0/unit-pg/$n.log" 2>&1; then
			echo "ok    unit-pg/$n ($(($(date +%s) - start)) s)"
		else
			echo "FAIL  unit-pg/$n ($(($(date +%s) - start)) s)"
		fi' "$LOGDIR" >"$LOGDIR/pg-unit"
}
# the marked integration scripts on PostgreSQL, one at a time, after
# the unit tests there; results in $LOGDIR/pg-integration
pg_integration() {
	mkdir -p "$LOGDIR/integration-pg"
	for t in tests/integration/*.sh; do
		grep -qx '# engines: sqlite pg' "$t" || continue
		if [ -n "${ONLY:-}" ] && ! echo "$t" | grep -q "$ONLY"; then continue; fi
		n=integration-pg/$(basename "$t" .sh)
		start=$(date +%s)
		if ISMS_TEST_ENGINE=pg timeout 600 sh "$t" >"$LOGDIR/$n.log" 2>&1; then
			echo "ok    $n ($(($(date +%s) - start)) s)"
		else
			echo "FAIL  $n ($(($(date +%s) - start)) s)"
		fi
	done >"$LOGDIR/pg-integration"
}
# collect FILE: counts and prints the results a background pass wrote
collect() {
	[ -f "$1" ] || return 0
	while read -r status rest; do
		echo "$status $rest"
		name=${rest%% *}
		if [ "$status" = ok ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			failed="$failed $name"
			sed 's/^/      /' "$LOGDIR/$name.log" | tail -60
		fi
	done <"$1"
}
PG_UNIT_PID=""
if [ -n "${ISMS_PG_URL:-}" ]; then
	(
		pg_unit
		pg_integration
	) &
	PG_UNIT_PID=$!
fi
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	if [ -n "${ONLY:-}" ] && ! echo "$t" | grep -q "$ONLY"; then continue; fi
	run "integration/$(basename "$t" .sh)" sh "$t"
done
if [ -n "$PG_UNIT_PID" ]; then
	wait "$PG_UNIT_PID"
	collect "$LOGDIR/pg-unit"
	collect "$LOGDIR/pg-integration"
fi
mkdir -p "$LOGDIR/fuzz"
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	if [ -n "${ONLY:-}" ] && ! echo "$f" | grep -q "$ONLY"; then continue; fi
	run "fuzz/$(basename "$f")" tests/fuzz/run.sh "${FUZZ_SECONDS:-5}" "$(basename "$f")"
done
pg_stop
rm -rf "$LOGDIR"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
