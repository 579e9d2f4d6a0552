# Two gateways on one PostgreSQL database, the leader killed with SIGKILL
# again and again: signed Slack HTTP-mode reports go to both (a client
# moves to the other when one fails), each killed leader is restarted and
# comes back as standby while the other takes over. Every report answered
# 200 is stored exactly once and caused exactly its notifications; the
# outbox drains once they run in peace; DMs in flight at a kill arrive at
# least once; the audit chain and the record hashes verify. Each takeover
# (kill -> the other's "took over" line) is printed and bounded to 10 s.
# No report may be refused as "database busy" for the other's lock.
# PostgreSQL: $ISMS_PG_URL (tests/run.sh starts one), else a cluster of
# its own; the database is a fresh schema, dropped at the end.
. tests/integration/lib.sh
. tests/integration/slack.inc
N=${CRASH_REPORTS:-600}
RATE=${CRASH_RATE:-40} # reports a second: the load lasts N/RATE seconds
command -v psql >/dev/null || fail "psql missing (scripts/deps.sh)"

PGDIR=""
SCHEMA=c_$$
BASE=${ISMS_PG_URL:-}
URL=""
two_cleanup() {
	cleanup
	[ -z "$URL" ] || psql -X -q -d "$BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" \
		>/dev/null 2>&1 || true
	[ -z "$PGDIR" ] || scripts/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1 || true
}
trap two_cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$BASE" ]; then
	# not under $T: the server's user must reach its directory
	PGDIR=$(mktemp -d /tmp/isms-pg-XXXXXX)
	rmdir "$PGDIR"
	BASE=$(scripts/pg-cluster.sh start "$PGDIR") || fail "no PostgreSQL cluster"
fi
psql -X -q -d "$BASE" -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $SCHEMA" >/dev/null ||
	fail "cannot create schema $SCHEMA"
case "$BASE" in
*\?*) URL="$BASE&options=-csearch_path%3D$SCHEMA" ;;
*) URL="$BASE?options=-csearch_path%3D$SCHEMA" ;;
esac

# pq QUERY: one value (or rows, |-separated) from the test's schema.
pq() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$URL" -c "$1"
}

# pq_wait QUERY VALUE SECONDS WHY: until the query gives the value.
pq_wait() {
	end=$(($(date +%s) + $3))
	while [ "$(pq "$1")" != "$2" ]; do
		[ "$(date +%s)" -lt $end ] || fail "$4: $(pq "$1") after $3 s, wanted $2"
		sleep 0.2
	done
}

# the isms_managers are not on Slack in phase 1 (not in the directory, not
# in the workspace): the load is the inbound path
staff_off_slack isms_manager >"$T/staff.csv"
M=$(grep -c isms_manager config/demo/staff.csv) # each report alerts each of them
start_fake
register_staff "$T/staff.csv"
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT_a=$(free_port)
PORT_b=$(free_port)
while [ "$PORT_b" = "$PORT_a" ]; do PORT_b=$(free_port); done
printf '%s\n' 9c1f0e7d2b4a6c8e0f1a3b5d7c9e2f4a >"$T/secret"
chmod 600 "$T/secret"
for g in a b; do
	port=$PORT_a
	[ $g = a ] || port=$PORT_b
	cat >"$T/$g.conf" <<EOC
[store]
url = $URL
audit_key = file:$T/audit.key
[slack]
enabled = true
mode = http
bot_token = xoxb-TEST
signing_secret = file:$T/secret
listen = 127.0.0.1:$port
api_base = $FAKE/api
[quiz]
every = off
[report]
every = off
EOC
done
"$ISMSCTL" -c "$T/a.conf" init >"$T/init.out" 2>&1 || { cat "$T/init.out"; fail "init on PostgreSQL"; }
"$ISMSCTL" -c "$T/a.conf" staff import "$T/staff.csv" >/dev/null || fail "staff import"

# gw_start G: gateway G (a or b) in the background, a fresh log each time
# ($T/G.K.err); pid_of G and log_of G name the current ones.
K=0
PID_a=""
PID_b=""
gw_start() {
	K=$((K + 1))
	"$ISMSD" -c "$T/$1.conf" >>"$T/$1.out" 2>"$T/$1.$K.err" &
	if [ "$1" = a ]; then PID_a=$!; else PID_b=$!; fi
	PIDS="$PIDS $!"
	echo "$T/$1.$K.err" >"$T/$1.log"
}
pid_of() {
	if [ "$1" = a ]; then echo "$PID_a"; else echo "$PID_b"; fi
}
log_of() {
	cat "$T/$1.log"
}

# role G: leader, standby or none, by the last such line of G's current log.
role() {
	r=$(grep -E 'leader: this gateway leads|standby: another gateway leads' "$(log_of "$1")" |
		tail -n 1) || true
	case "$r" in
	*"leader: this gateway leads"*) echo leader ;;
	*"standby: another gateway leads"*) echo standby ;;
	*) echo none ;;
	esac
}

# until_role G ROLE SECONDS: waits for G's log to show the role.
until_role() {
	i=0
	while [ "$(role "$1")" != "$2" ]; do
		i=$((i + 1))
		if [ $i -gt $(($3 * 10)) ]; then
			tail -n 30 "$(log_of "$1")"
			fail "gateway $1 is not $2 after $3 s"
		fi
		sleep 0.1
	done
}

# leader: the gateway whose log says it leads (exactly one must).
leader() {
	ra=$(role a)
	rb=$(role b)
	if [ "$ra" = leader ] && [ "$rb" = leader ]; then
		tail -n 20 "$(log_of a)" "$(log_of b)"
		fail "both gateways say they lead"
	fi
	[ "$ra" = leader ] && echo a && return
	[ "$rb" = leader ] && echo b && return
	echo ""
}

now_ms() {
	$PY -c 'import time; print(int(time.time() * 1000))'
}

# kill_leader: SIGKILL to the leader; the other must log "took over"
# within 10 s; then the killed one is restarted (RESTARTED), and
# must stand by before the next kill (settle).
KILLS=0
TAKEOVERS=""
RESTARTED=""
settle() {
	[ -z "$RESTARTED" ] || until_role "$RESTARTED" standby 30
	RESTARTED=""
}
kill_leader() {
	settle
	l=$(leader)
	[ -n "$l" ] || { tail -n 20 "$(log_of a)" "$(log_of b)"; fail "no gateway leads"; }
	o=a
	[ "$l" = a ] && o=b
	lp=$(pid_of "$l")
	ol=$(log_of "$o")
	before=$(grep -c 'took over' "$ol" || true)
	t0=$(now_ms)
	kill -9 "$lp"
	wait "$lp" 2>/dev/null || true
	i=0
	while [ "$(grep -c 'took over' "$ol" || true)" = "$before" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			tail -n 30 "$ol"
			fail "gateway $o did not take over within 10 s of the kill of $l"
		fi
		sleep 0.05
	done
	dt=$(($(now_ms) - t0))
	KILLS=$((KILLS + 1))
	TAKEOVERS="$TAKEOVERS $dt"
	echo "kill $KILLS: $l killed, $o took over after $dt ms"
	[ "$dt" -lt 10000 ] || fail "takeover took $dt ms"
	gw_start "$l"
	RESTARTED=$l
}

gw_start a
until_role a leader 30
gw_start b
until_role b standby 30
for g in a b; do
	f=$(log_of $g)
	wait_for grep -q "listening on http://" "$f" || { cat "$f"; fail "gateway $g: no listener"; }
done

# phase 1: reports to both gateways while the leader is killed every 2-3 s
$PY tests/integration/slack_load.py --port "$PORT_a" --port "$PORT_b" \
	--secret-file "$T/secret" --count "$N" --clients 8 --retry --deadline 100 \
	--rate "$RATE" --prefix twogw --acked "$T/acked.json" >"$T/load.json" &
LOAD=$!
PIDS="$PIDS $LOAD"
while kill -0 $LOAD 2>/dev/null; do
	sleep "$($PY -c 'import random; print(round(random.uniform(2, 3), 2))')"
	kill -0 $LOAD 2>/dev/null || break
	kill_leader
done
wait $LOAD || fail "load driver failed"
settle
echo "load: $(cat "$T/load.json"), $KILLS kills"
[ "$KILLS" -ge 3 ] || fail "only $KILLS kills during the load: the test did not test"
acked=$(js "$T/load.json" "d['acked']")
[ "$acked" = "$N" ] || fail "only $acked of $N reports were ever answered"
# every report exactly once (a retry, on either gateway, reuses the trigger id)
stored=$(pq "SELECT COUNT(*) FROM incidents WHERE title LIKE 'twogw report %'")
[ "$stored" = "$N" ] || fail "stored: $stored of $N answered; refused as busy and resent: \
$(js "$T/load.json" "d['errors']['refused']"); inbox rows: \
$(pq "SELECT COUNT(*) FROM inbox WHERE event_id LIKE 'trg:twogw.%'")"
distinct=$(pq "SELECT COUNT(DISTINCT title) FROM incidents WHERE title LIKE 'twogw report %'")
[ "$distinct" = "$N" ] || fail "a report was stored twice ($distinct distinct of $stored)"
# each stored report alerted each isms_manager exactly once
alerts=$(pq "SELECT COUNT(*) FROM outbox WHERE kind = 'incident'")
[ "$alerts" = "$((N * M))" ] || fail "alerts: $alerts, expected $((N * M))"
per=$(pq "SELECT COUNT(*) FROM incidents i WHERE i.title LIKE 'twogw report %' AND
	(SELECT COUNT(DISTINCT o.person_id) FROM outbox o WHERE o.kind = 'incident'
	 AND o.subject LIKE '%' || i.title || '%') = $M")
[ "$per" = "$N" ] || fail "only $per of $N reports alerted each of the $M isms_managers"
# in peace the leader routes everything: nothing unrouted or pending
pq_wait "SELECT (SELECT COUNT(*) FROM outbox WHERE routed = 0) +
	(SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending')" 0 30 \
	"unrouted messages and pending deliveries"
"$ISMSCTL" -c "$T/a.conf" audit verify >"$T/v" 2>&1 || { cat "$T/v"; fail "audit chain after kills"; }
expect_in "$T/v" "records intact"

# phase 2: delivery. The isms_managers are on Slack now; 20 reports queue
# 40 DMs, paced (one a second per DM channel), while the leader is killed.
register_staff config/demo/staff.csv
"$ISMSCTL" -c "$T/a.conf" staff import config/demo/staff.csv >/dev/null || fail "staff import"
$PY tests/integration/slack_load.py --port "$PORT_a" --port "$PORT_b" \
	--secret-file "$T/secret" --count 20 --clients 2 --retry --deadline 60 \
	--prefix deliver >"$T/load2.json" || fail "phase 2 load"
[ "$(js "$T/load2.json" "d['acked']")" = 20 ] || fail "phase 2: $(cat "$T/load2.json")"
stored=$(pq "SELECT COUNT(DISTINCT title) FROM incidents WHERE title LIKE 'deliver report %'")
[ "$stored" = 20 ] || fail "phase 2: $stored of 20 reports stored"
K2=4
for i in $(seq $K2); do
	sleep 2.5
	kill_leader
done
settle
D=$((20 * M))
pq_wait "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'sent' AND outbox_id IN
	(SELECT id FROM outbox WHERE subject LIKE '%deliver report%')" "$D" 60 \
	"the outbox did not drain; DMs sent"
[ "$(pq "SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending'")" = 0 ] || fail "pending deliveries left"
# on the wire: every alert arrived; a DM posted in the instant between
# Slack's answer and the commit of "sent" can arrive twice (at least once),
# at most the few in flight at each kill
state "[(m['channel'], m['text']) for m in d['messages'] if 'deliver report' in m['text']]" >"$T/wire"
$PY - "$T/wire" "$D" "$K2" <<'EOP' || fail "notifications on the wire"
import ast, collections, sys
msgs = ast.literal_eval(open(sys.argv[1]).read())
want, kills = int(sys.argv[2]), int(sys.argv[3])
c = collections.Counter(msgs)
assert len(c) == want, "distinct alerts on the wire: %d of %d" % (len(c), want)
dups = len(msgs) - want
print("delivery: %d alerts delivered, %d duplicate(s) across the kills" % (want, dups))
assert dups <= 4 * kills, "more duplicates than DMs in flight at the kills"
EOP
"$ISMSCTL" -c "$T/a.conf" audit verify >"$T/v" 2>&1 || { cat "$T/v"; fail "audit chain"; }
expect_in "$T/v" "records intact"
echo "takeovers (ms):$TAKEOVERS"
# a report refused as busy was resent and stored once (checked above), but
# a gateway must not refuse for a lock the other holds a moment: it waits
# for it, as a single gateway waits for another process's lock
refused=$(js "$T/load.json" "d['errors']['refused'] + $(js "$T/load2.json" "d['errors']['refused']")")
[ "$refused" = 0 ] || fail "$refused reports answered \"nothing was stored\" (database busy)"

for g in a b; do
	p=$(pid_of $g)
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	f=$(log_of $g)
	[ $rc = 0 ] || { tail -n 30 "$f"; fail "gateway $g exited with $rc after SIGTERM"; }
done
for f in "$T"/[ab].*.err; do
	if grep -q 'Sanitizer\|runtime error' "$f"; then
		cat "$f"
		fail "sanitizer report in $f"
	fi
done
no_secrets "$T"/[ab].*.err
echo "two gateways ok"
