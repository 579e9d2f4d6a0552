# The daemon runs a scheduler pass soon after start and then once a
# minute: a personal-data incident past 24 h gets its breach alerts, once,
# even across a restart; an unknown [org] timezone is refused.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[org]
timezone = Europe/Berlin
[quiz]
every = off
EOC
printf '/incident Lost laptop with payroll data personal_data=yes\n' | console "$DB" ivan
expect_in "$T/out" "Recorded as INC-1"
# reported 25 hours ago
sql "$DB" "UPDATE incidents SET created_at = created_at - 25 * 3600, personal_data_at = personal_data_at - 25 * 3600"
breach() { [ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'breach'")" = "$1" ]; }
for round in 1 2; do
	"$ISMSD" -c "$T/ismsd.conf" 2>"$T/log$round" &
	pid=$!
	PIDS="$PIDS $pid"
	wait_for breach 2 || { cat "$T/log$round"; fail "no breach alerts from the daemon's scheduler (round $round)"; }
	[ $round = 1 ] || sleep 2.5 # the restarted daemon's first pass
	kill -TERM $pid
	wait $pid || fail "ismsd exit status $?"
	breach 2 || fail "breach alerts repeated (round $round)"
done
expect_in "$T/log1" "scheduler: 2 messages queued"
expect_not_in "$T/log2" "scheduler: 2 messages queued"
[ "$(sql "$DB" "SELECT group_concat(handle) FROM (SELECT p.handle FROM outbox o JOIN people p ON p.id = o.person_id WHERE o.kind = 'breach' ORDER BY p.handle) b")" = "carol,erik" ] || fail "breach recipients"
# --check-config refuses an unknown zone with its line
printf '[org]\ntimezone = Europe/Atlantis\n' >"$T/bad.conf"
rc=0
"$ISMSD" --check-config -c "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "bad zone exit $rc"
expect_in "$T/out" 'bad.conf:2: org.timezone: unknown time zone "Europe/Atlantis"'
echo "scheduler daemon ok"
