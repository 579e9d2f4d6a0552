# The Slack HTTP-mode server under attack (plain build, so that RSS is the
# daemon's own): under a 1,024 open-file limit, 2,000 idle connections do
# not keep signed reports from being answered within a second; 1,000
# unsigned 1 MiB bodies keep RSS under 100 MiB; pipelined requests are
# answered in order at once while deliveries go out, including after a
# half-close; each limit is logged in one line, not once per refusal.
. tests/integration/lib.sh
. tests/integration/slack.inc
BIN=$PWD/build
[ -x "$BIN/ismsd" ] || fail "build/ismsd missing: run make first"
ISMSD=$BIN/ismsd
ISMSCTL=$BIN/ismsctl
DRIVE="$PY tests/integration/http_flood.py"
DB=$T/isms.db
new_db "$DB"
start_fake
register_staff config/demo/staff.csv
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '%s\n' 5d2e8f1a9c3b7e4d6f0a2c8e1b5d9f3a >"$T/secret"
chmod 600 "$T/secret"
cat >"$T/ismsd.conf" <<EOC
[store]
path = $DB
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
# the daemon under a hard limit of 1,024 descriptors, as on many hosts
(ulimit -n 1024 && exec "$ISMSD" -c "$T/ismsd.conf") >"$T/ismsd.out" 2>"$T/ismsd.err" &
ISMSD_PID=$!
PIDS="$PIDS $ISMSD_PID"
wait_for grep -q "listening on http://" "$T/ismsd.err" || { cat "$T/ismsd.err"; fail "no listener"; }
expect_in "$T/ismsd.err" "http.max_connections lowered to 960"
limit_lines() { grep -c "http: connection limits in force" "$T/ismsd.err" || true; }

# 1. pipelined reports while deliveries go out (each report alerts two
#    isms_managers by DM, paced to one a second per channel), then a
#    half-close: all twenty answered, in order, without waiting on a timer
$PY tests/integration/slack_load.py --port "$PORT" --secret-file "$T/secret" \
	--count 4 --clients 1 --prefix warmup >"$T/warm.json" || fail "warm-up reports"
$DRIVE pipeline --port "$PORT" --secret-file "$T/secret" --count 20 >"$T/pipe.json"
cat "$T/pipe.json"
[ "$(js "$T/pipe.json" "d['answers']")" = 20 ] || fail "pipelined answers: $(cat "$T/pipe.json")"
[ "$(js "$T/pipe.json" "all(s == 200 for s in d['status'])")" = True ] || fail "pipelined status"
[ "$(js "$T/pipe.json" "d['incidents'] == sorted(d['incidents']) and len(set(d['incidents'])) == 20")" = True ] ||
	fail "pipelined answers out of order"
[ "$(js "$T/pipe.json" "d['seconds'] < 2")" = True ] || fail "pipelined answers took too long"
[ "$(sql "$DB" "SELECT group_concat(title, ',') FROM (SELECT title FROM incidents WHERE title LIKE 'pipelined%' ORDER BY id)")" = \
	"$($PY -c 'print(",".join("pipelined report %06d" % k for k in range(20)))')" ] || fail "stored out of order"
# the deliveries really were under way: the DMs arrive
await messages 48 30

# 2. 2,000 idle connections from eight addresses; signed reports on new
#    connections are answered within a second; one line for the burst
$DRIVE idle --port "$PORT" --secret-file "$T/secret" --idle 2000 >"$T/idle.json"
cat "$T/idle.json"
[ "$(js "$T/idle.json" "d['idle'] + d['connect_failed']")" = 2000 ] || fail "idle connections"
[ "$(js "$T/idle.json" "d['legit']")" = "[200, 200, 200, 200, 200]" ] || fail "signed reports during the flood"
[ "$(js "$T/idle.json" "max(d['legit_ms']) < 1000")" = True ] || fail "slow answers during the flood"
[ "$(js "$T/idle.json" "d['closed_by_server'] + d['connect_failed'] >= 2000 - 960")" = True ] ||
	fail "idle connections were not closed to make room"
wait_for grep -q "http: connection limits in force (at most 960 open); [0-9]* idle or slow connections closed to make room" "$T/ismsd.err" ||
	fail "no line about the connection limit"
sleep 1
[ "$(limit_lines)" = 1 ] || fail "limit lines: $(grep 'http:' "$T/ismsd.err")"

# 3. 1,000 unsigned 1 MiB bodies: most refused with 503 before being read,
#    the rest with 401; RSS stays under 100 MiB and comes back down
$DRIVE bodies --port "$PORT" --pid "$ISMSD_PID" --count 1000 >"$T/bodies.json"
cat "$T/bodies.json"
[ "$(js "$T/bodies.json" "d['connections']")" = 1000 ] || fail "body connections"
[ "$(js "$T/bodies.json" "d['status'].get('503', 0) >= 900")" = True ] || fail "503s: $(cat "$T/bodies.json")"
[ "$(js "$T/bodies.json" "d['status'].get('401', 0) >= 1")" = True ] || fail "no body was checked"
[ "$(js "$T/bodies.json" "d['rss_peak_kib'] < 100 * 1024")" = True ] || fail "RSS over 100 MiB"
sleep 3 # freed memory is handed back within seconds of the burst
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$ISMSD_PID/status")
echo "RSS after the bursts: $rss KiB"
[ "$rss" -lt $((100 * 1024)) ] || fail "RSS stayed at $rss KiB"
# still answering, within a minute of the first line: no second one yet
$PY tests/integration/slack_load.py --port "$PORT" --secret-file "$T/secret" \
	--count 2 --clients 1 --prefix after >"$T/after.json" || fail "reports after the floods"
[ "$(js "$T/after.json" "d['acked']")" = 2 ] || fail "reports after the floods"
[ "$(limit_lines)" = 1 ] || fail "limit lines: $(grep 'http:' "$T/ismsd.err")"
[ "$(grep -c 'slack: refused' "$T/ismsd.err")" = 1 ] || fail "refusal lines: $(grep 'slack: refused' "$T/ismsd.err")"

# at shutdown the counts since the last lines are written, once each
stop_ismsd
[ "$(limit_lines)" = 2 ] || fail "limit lines: $(grep 'http:' "$T/ismsd.err")"
expect_in "$T/ismsd.err" "answered 503, their bodies over the 8388608 bytes allowed in flight"
[ "$(grep -c 'slack: refused' "$T/ismsd.err")" = 2 ] || fail "refusal lines: $(grep 'slack: refused' "$T/ismsd.err")"
echo "http limits ok"
