#!/bin/sh
# Usage: tests/fuzz/run.sh SECONDS [fuzz_target ...]
# Runs the libFuzzer targets in build/fuzz for SECONDS each, starting
# from the committed seed corpus in tests/fuzz/corpus/<target>/. New
# inputs go to a scratch corpus that is thrown away. Exit 1 on a crash;
# the crashing input is kept in build/fuzz/crashes/ to become a
# regression seed.
set -u
secs=${1:-60}
shift 2>/dev/null || true
cd "$(dirname "$0")/../.."
targets=${*:-$(ls build/fuzz/ | grep '^fuzz_' || true)}
mkdir -p build/fuzz/crashes
status=0
for t in $targets; do
	bin=build/fuzz/$t
	[ -x "$bin" ] || { echo "fuzz $t: not built"; status=1; continue; }
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d /tmp/isms-fuzz-XXXXXX)
	mkdir -p "$seeds"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/crashes/"$name"- -print_final_stats=1 \
		"$work" "$seeds" >"$work.log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" | tail -1 | grep -o '[0-9]*$')
		echo "fuzz $name: ${runs:-?} inputs in ${secs}s, no crash"
	else
		echo "fuzz $name: FAILED"
		tail -40 "$work.log"
		status=1
	fi
	rm -rf "$work" "$work.log"
done
exit $status
