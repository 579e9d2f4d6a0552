# Crash safety: thousands of signed Slack HTTP-mode reports while ismsd is
# killed with SIGKILL at random moments and restarted. Every report that
# was answered 200 is stored exactly once; the outbox holds exactly the
# notifications the stored reports caused and drains completely once the
# daemon runs in peace; the audit chain verifies. Then the same for
# delivery: DMs to Slack while the daemon is killed are all delivered.
# engines: sqlite pg-by-hand (make test runs crash_two_gateways.sh on PostgreSQL)
. tests/integration/lib.sh
. tests/integration/slack.inc
DB=$(db_path isms.db)
N=${CRASH_REPORTS:-6000}
new_db "$DB"
# phase 1: the isms_managers are not on Slack, so the load is the inbound path
staff_off_slack isms_manager >"$T/staff.csv"
"$ISMSCTL" --db "$DB" staff import "$T/staff.csv" >/dev/null
start_fake
register_staff config/demo/staff.csv
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '%s\n' 9c1f0e7d2b4a6c8e0f1a3b5d7c9e2f4a >"$T/secret"
chmod 600 "$T/secret"
cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[slack]
enabled = true
mode = http
bot_token = xoxb-TEST
signing_secret = file:$T/secret
listen = 127.0.0.1:$PORT
api_base = $FAKE/api
[quiz]
every = off
[report]
every = off
EOC
start_ismsd "$T/ismsd.conf"
wait_for grep -q "listening on http://" "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no listener"; }

$PY tests/integration/slack_load.py --port "$PORT" --secret-file "$T/secret" \
	--count "$N" --clients 8 --retry --deadline 240 --prefix crash \
	--acked "$T/acked.json" >"$T/load.json" &
LOAD=$!
kills=0
while kill -0 $LOAD 2>/dev/null; do
	sleep "$($PY -c 'import random; print(round(random.uniform(0.05, 0.3), 2))')"
	kill -0 $LOAD 2>/dev/null || break
	kill -9 "$ISMSD_PID" 2>/dev/null || true
	wait "$ISMSD_PID" 2>/dev/null || true
	kills=$((kills + 1))
	start_ismsd "$T/ismsd.conf"
	# three restarts in four are killed at a random moment after they
	# listen, so that a slow start on a busy machine still gets work
	# done; the fourth may die while it is still starting
	[ $((kills % 4)) = 0 ] || $PY - "$PORT" <<'EOW' || true
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1).close()
        break
    except OSError:
        time.sleep(0.02)
EOW
done
wait $LOAD || fail "load driver failed"
echo "load: $(cat "$T/load.json"), $kills kills"
[ "$kills" -ge 3 ] || fail "only $kills kills: the test did not test"
acked=$(js "$T/load.json" "d['acked']")
[ "$acked" = "$N" ] || fail "only $acked of $N reports were ever answered"
# every report exactly once (the retries reuse the trigger id)
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents WHERE title LIKE 'crash report %'")" = "$N" ] || \
	fail "stored: $(sql "$DB" "SELECT COUNT(*) FROM incidents")"
[ "$(sql "$DB" "SELECT COUNT(DISTINCT title) FROM incidents")" = "$N" ] || fail "a report was stored twice"
# each stored report alerted each isms_manager exactly once
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'incident'")" = "$((N * 2))" ] || \
	fail "alerts: $(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'incident'")"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit chain after crashes"; }

# phase 2: delivery. The isms_managers are on Slack now; 20 reports queue
# 40 DMs that go out paced (one a second per DM channel) while the daemon
# is killed again; afterwards every DM arrived and the outbox is drained.
"$ISMSCTL" --db "$DB" staff import config/demo/staff.csv >/dev/null
kill -9 "$ISMSD_PID"; wait "$ISMSD_PID" 2>/dev/null || true
sql "$DB" "DELETE FROM outbox_delivery; UPDATE outbox SET routed = 1" # phase 1 is done
start_ismsd "$T/ismsd.conf"
wait_for grep -q "listening on http://" "$T/ismsd.err"
$PY tests/integration/slack_load.py --port "$PORT" --secret-file "$T/secret" \
	--count 20 --clients 2 --retry --prefix deliver >"$T/load2.json" || fail "phase 2 load"
for i in 1 2 3 4; do
	sleep 2.5
	kill -9 "$ISMSD_PID"; wait "$ISMSD_PID" 2>/dev/null || true
	start_ismsd "$T/ismsd.conf"
done
i=0
until [ "$(sql "$DB" "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'sent' AND outbox_id IN (SELECT id FROM outbox WHERE subject LIKE '%deliver report%')")" = 40 ]; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail "the outbox did not drain: $(sql "$DB" "SELECT status, COUNT(*) FROM outbox_delivery GROUP BY status")"
	sleep 0.1
done
# on the wire: every alert arrived; a DM posted in the instant between
# Slack's answer and the commit of "sent" can arrive twice (at least once)
state "[(m['channel'], m['text']) for m in d['messages'] if 'deliver report' in m['text']]" >"$T/wire"
$PY - "$T/wire" <<'EOP' || fail "lost notifications on the wire"
import ast, collections, sys
msgs = ast.literal_eval(open(sys.argv[1]).read())
c = collections.Counter(msgs)
assert len(c) == 40, "distinct alerts on the wire: %d" % len(c)
print("delivery: 40 alerts delivered, %d duplicate(s) across the kills" % (len(msgs) - 40))
EOP
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
kill -TERM "$ISMSD_PID"; wait "$ISMSD_PID" || fail "ismsd did not stop cleanly"
echo "crash safety ok"
