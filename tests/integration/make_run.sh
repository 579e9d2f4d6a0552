# The README's first command: make run starts the console demo as alice
# on a seeded database (and AS= picks someone else).
. tests/integration/lib.sh
printf 'incident list\nrisk list\n' | make -s --no-print-directory run DEMO_DB="$T/demo.db" >"$T/out" 2>&1 || { cat "$T/out"; fail "make run failed"; }
expect_in "$T/out" "Console demo as 'alice'"
expect_in "$T/out" "INC-1 [high]"
expect_in "$T/out" "error: not allowed: risk list needs"
printf 'risk list\n' | make -s --no-print-directory run DEMO_DB="$T/demo.db" AS=grace >"$T/out" 2>&1 || fail "make run AS=grace failed"
expect_in "$T/out" "RSK-1 [high 12] Stolen laptop"
echo "make run ok"
