# The README's first command: make run starts the console demo as alice
# on a seeded database (and AS= picks someone else).
. tests/integration/lib.sh
printf 'incident list\nrisk list\n' | make -s --no-print-directory run DEMO_DB="$T/demo.db" >"$T/out" 2>&1 || { cat "$T/out"; fail "make run failed"; }
expect_in "$T/out" "Console demo as 'alice'"
expect_in "$T/out" "INC-1 [high]"
expect_in "$T/out" "error: not allowed: risk list needs"
printf 'risk list\n' | make -s --no-print-directory run DEMO_DB="$T/demo.db" AS=grace >"$T/out" 2>&1 || fail "make run AS=grace failed"
expect_in "$T/out" "RSK-1 [high 12] Stolen laptop"
# the demo's dates are relative to the day it is loaded: always ahead
[ "$(sql "$T/demo.db" "SELECT date(planned_at, 'unixepoch') FROM audits WHERE id = 1")" = "$(date -u -d '+71 days' +%F)" ] ||
	fail "the demo audit is not planned 71 days ahead"
printf 'carol: audit plan Bad date={+3x} auditor=@erik\n' >"$T/bad.seed"
"$ISMSCTL" --db "$T/demo.db" seed "$T/bad.seed" 2>"$T/err" && fail "a malformed placeholder was accepted"
expect_in "$T/err" "bad.seed:1: a date placeholder is {+Nd}"
echo "make run ok"
