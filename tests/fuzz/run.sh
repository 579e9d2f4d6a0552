#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer, ASan and UBSan
# and runs each for SECONDS (default 60). A harness names its sources in
# a "fuzz-sources:" comment line and its seed folders ("<case>/input"
# files) in "fuzz-seeds:". Crashes are left in build/fuzz/<name>/.
set -eu
SECONDS_EACH=${1:-60}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
mkdir -p "$OUT"
status=0
for h in tests/fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	srcs=$(sed -n 's/.*fuzz-sources: *//p' "$h" | head -1)
	seeds=$(sed -n 's/.*fuzz-seeds: *//p' "$h" | head -1)
	work=tests/fuzz/corpus-work/$name
	mkdir -p "$work" "$OUT/$name"
	for d in $seeds; do
		for f in "$d"/*/input; do
			[ -f "$f" ] && cp "$f" "$work/seed-$(basename "$(dirname "$f")")"
		done
	done
	echo "  FUZZ $name ($SECONDS_EACH s)"
	$CC -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -I. -o "$OUT/$name/$name" "$h" $srcs
	if ! "$OUT/$name/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 \
		-artifact_prefix="$OUT/$name/" -print_final_stats=1 "$work" \
		>"$OUT/$name/log" 2>&1; then
		echo "FAIL  $name: see $OUT/$name/log"
		tail -30 "$OUT/$name/log"
		status=1
	else
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$OUT/$name/log" | tail -2
	fi
done
exit $status
