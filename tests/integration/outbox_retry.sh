# ismsctl outbox-retry: messages no transport reached are routed again,
# deliveries that failed for good go back to pending, and it is audited.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path o.db)
new_db "$DB"
printf '/incident Tailgating at the side door\n' | console "$DB" alice
printf '[store]\n%s\n[quiz]\nevery = off\n' "$(store_conf "$DB")" >"$T/conf"
"$ISMSD" -c "$T/conf" 2>"$T/err" &
PID=$!
PIDS="$PIDS $PID"
i=0
until [ "$(sql "$DB" "SELECT COUNT(*) FROM outbox_delivery WHERE transport = 'none'")" = 2 ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "never routed"; sleep 0.1
done
kill -TERM $PID; wait $PID || fail "ismsd did not stop cleanly"
"$ISMSCTL" --db "$DB" outbox failed >"$T/out"
expect_in "$T/out" "none:failed"
# a delivery a transport gave up on
sql "$DB" "INSERT INTO outbox_delivery(outbox_id, transport, status, attempts, last_error) VALUES (1, 'slack', 'failed', 20, 'x')"
"$ISMSCTL" --db "$DB" outbox-retry >"$T/out" || fail "outbox-retry"
expect_in "$T/out" "requeued 1 failed deliveries; 2 messages will be routed again"
[ "$(sql "$DB" "SELECT status || attempts FROM outbox_delivery WHERE transport = 'slack'")" = pending0 ] || fail "not requeued"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE routed = 0")" = 2 ] || fail "not rerouted"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox_delivery WHERE transport = 'none'")" = 0 ] || fail "stale routing kept"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'outbox.retry'")" = 1 ] || fail "not audited"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
echo "outbox retry ok"
