#!/bin/sh
# bench/outbox_load.sh N [RATE]: outbox delivery of N quiz questions (a
# campaign to N people) through the fake Slack (tests/fakes/slack), while
# bench/slash_probe.py sends RATE signed /incident commands a second
# (default 50) and times their answers. Prints one RESULT line. Loopback
# only; bounded (10 minutes at most). A second probe of 5 s after the
# last delivery gives the same answers' latency with nothing to deliver. The fake applies no rate limits
# unless told to: this measures ismsd's side at full speed. With
# BENCH_PG_URL set (a URL from scripts/pg-cluster.sh) the store is that
# PostgreSQL database, which must be empty, instead of an SQLite file.
set -eu
cd "$(dirname "$0")/.."
N=${1:-10000}
RATE=${2:-50}
B=${BENCH_DIR:-build/bench}/outbox
. bench/lib.sh
rm -rf "$B"
mkdir -p "$B"
printf '%s\n' 3f6c1e9a0b2d4f6a8c1e3b5d7f9a2c4e >"$B/secret"
chmod 600 "$B/secret"
if [ -n "${BENCH_PG_URL:-}" ]; then
	DB=$BENCH_PG_URL
	STORE=$(printf '[store]\nurl = %s\naudit_key = file:%s' "$DB" "$B/audit-key")
else
	DB=$B/isms.db
	STORE=$(printf '[store]\npath = %s' "$DB")
fi
printf '%s\n[org]\nworking_days = mon-sun\nworking_hours = 00:00-24:00\n' "$STORE" >"$B/quiz.conf"
build/ismsctl -c "$B/quiz.conf" init >/dev/null 2>&1
$PY bench/gen_staff.py "$N" >"$B/staff.csv"
build/ismsctl -c "$B/quiz.conf" staff import "$B/staff.csv" >/dev/null
echo 'quiz start questions=5 audience=all' |
	build/ismsd --console -c "$B/quiz.conf" --as u000000 >"$B/quiz.out" 2>&1
QUEUED=$(count "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'quiz'")

$PY tests/fakes/slack/slack_fake.py --ping-interval 0 >"$B/fake.out" 2>"$B/fake.err" &
PIDS="$PIDS $!"
wait_file "$B/fake.out" "the fake Slack"
FAKE=http://127.0.0.1:$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$B/fake.out")
PORT=$(free_port)
cat >"$B/ismsd.conf" <<EOC
$STORE
[slack]
enabled = true
mode = http
bot_token = xoxb-TEST
signing_secret = file:$B/secret
listen = 127.0.0.1:$PORT
api_base = $FAKE/api
[org]
working_days = mon-sun
working_hours = 00:00-24:00
[quiz]
every = off
[report]
every = off
[log]
level = warn
EOC
build/ismsd -c "$B/ismsd.conf" 2>"$B/ismsd.err" &
IPID=$!
PIDS="$PIDS $IPID"
wait_port "$PORT"
T0=$($PY -c 'import time; print(time.time())')
$PY bench/slash_probe.py "$B/secret" "$PORT" "$RATE" 600 "$B/stop" >"$B/probe.txt" &
PPID_=$!
PIDS="$PIDS $PPID_"
SENT=0
i=0
while [ "$SENT" -lt "$QUEUED" ] && [ $i -lt 6000 ]; do
	sleep 0.1
	i=$((i + 1))
	SENT=$(count "$DB" "SELECT COUNT(*) FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'quiz' AND d.status = 'sent'")
done
T1=$($PY -c 'import time; print(time.time())')
touch "$B/stop"
wait $PPID_ || true
# the same probe with nothing to deliver, for comparison
$PY bench/slash_probe.py "$B/secret" "$PORT" "$RATE" 5 "$B/none" >"$B/idle.txt"
RSS=$(hwm_kb $IPID)
kill $IPID; wait $IPID || true
busy=$(grep '^RESULT' "$B/probe.txt" | sed -e 's/^RESULT//' -e 's/ \([a-z0-9_]*\)=/ busy_\1=/g')
idle=$(grep '^RESULT' "$B/idle.txt" | sed -e 's/^RESULT//' -e 's/ \([a-z0-9_]*\)=/ idle_\1=/g')
echo "RESULT queued=$QUEUED sent=$SENT seconds=$($PY -c "print(round($T1 - $T0, 1))") per_s=$($PY -c "print(round($SENT / ($T1 - $T0), 1))") peak_rss_kb=$RSS$busy$idle"
