#!/bin/sh
# make bench: ismsd against a minimal Slack Bolt app doing the same durable
# insert, side by side on this machine, the same load on PostgreSQL, plus
# memory and a 100,000-person quiz campaign. Prints a Markdown table (also in build/bench/results.md).
# Loopback only; every run is bounded (wrk -d).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build/bench
DUR=${BENCH_SECONDS:-10}
rm -rf "$B"
mkdir -p "$B"
. bench/lib.sh
printf '%s\n' 3f6c1e9a0b2d4f6a8c1e3b5d7f9a2c4e >"$B/secret"
chmod 600 "$B/secret"

# load NAME PORT ROWS_SQL DB: wrk at 1, 8 and 64 connections; each run
# gets fresh signed requests, and the rows it added are counted.
load() {
	name=$1 port=$2 rows_sql=$3 db=$4
	for c in 1 8 64; do
		t=$([ $c = 1 ] && echo 1 || echo 2)
		$PY bench/gen_requests.py "$B/secret" $((DUR * 30000)) "$name$c" >"$B/req.tsv"
		before=$(count "$db" "$rows_sql")
		wrk -t$t -c$c -d${DUR}s -s bench/wrk_slash.lua "http://127.0.0.1:$port" -- "$B/req.tsv" $t >"$B/wrk-$name-$c.txt"
		sleep 0.5
		after=$(count "$db" "$rows_sql")
		res=$(grep '^RESULT' "$B/wrk-$name-$c.txt")
		echo "$name c=$c $res rows=$((after - before))" | tee -a "$B/raw.txt"
	done
}
# field N KEY: KEY of the Nth load run (ismsd 1-3, cpu 4-6, bolt 7-9)
field() { grep " c=" "$B/raw.txt" | grep -v '^pg ' | sed -n "s/.*$2=\([0-9.]*\).*/\1/p" | sed -n "$1p"; }
# pgfield C KEY: KEY of the PostgreSQL run at C clients
pgfield() { grep "^pg c=$1 " "$B/raw.txt" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"; }

# --- the disk's limit ----------------------------------------------------
# durable single-row commits a second in this directory: a server that
# answers only durable requests answers at most clients x this a second
FSYNC=$($PY bench/fsync_probe.py "$B" 3 | sed -n 's/.*commits_per_s=\([0-9]*\).*/\1/p')
echo "fsync probe: $FSYNC durable commits/s" | tee -a "$B/raw.txt"

# --- ismsd, Slack HTTP mode -------------------------------------------
# ismsd_conf DB PORT: the daemon's configuration for a database
ismsd_conf() {
	case "$1" in
	postgresql://*) printf '[store]\nurl = %s\naudit_key = file:%s\n' "$1" "$B/pg.audit-key" ;;
	*) printf '[store]\npath = %s\n' "$1" ;;
	esac
	cat <<EOC
[slack]
enabled = true
mode = http
bot_token = xoxb-bench
signing_secret = file:$B/secret
listen = 127.0.0.1:$2
api_base = http://127.0.0.1:9/api
[quiz]
every = off
[report]
every = off
[log]
level = warn
EOC
}
# ismsd_db DB: a database with the demo staff (alerts: outbox only)
ismsd_db() {
	build/ismsctl --db "$1" init >/dev/null
	grep -v isms_manager config/demo/staff.csv >"$B/staff.csv"
	build/ismsctl --db "$1" staff import "$B/staff.csv" >/dev/null
}
DB=$B/isms.db
ismsd_db "$DB"
P1=$(free_port)
ismsd_conf "$DB" "$P1" >"$B/ismsd.conf"
build/ismsd -c "$B/ismsd.conf" 2>"$B/ismsd.err" &
IPID=$!
PIDS="$PIDS $IPID"
wait_port "$P1"
sleep 1
I_IDLE=$(rss_kb $IPID)
load ismsd "$P1" "SELECT COUNT(*) FROM incidents" "$DB"
I_LOAD=$(hwm_kb $IPID)
kill $IPID; wait $IPID || true

# --- ismsd on PostgreSQL, Slack HTTP mode --------------------------------
# the same staff and load against a throwaway PostgreSQL 15 cluster on the
# same disk (scripts/pg-cluster.sh: fsync and synchronous_commit on),
# reached through its Unix socket; stopped by cleanup (bench/lib.sh)
PGDIR=$B/pg
PGURL=$(scripts/pg-cluster.sh start "$PGDIR")
PG_SYNC=$(count "$PGURL" "SHOW synchronous_commit")
PG_FSYNC=$(count "$PGURL" "SHOW fsync")
PG_VER=$(count "$PGURL" "SHOW server_version" | cut -d' ' -f1)
echo "postgresql $PG_VER: synchronous_commit=$PG_SYNC fsync=$PG_FSYNC" | tee -a "$B/raw.txt"
[ "$PG_SYNC" = on ] && [ "$PG_FSYNC" = on ] ||
	{ echo "the PostgreSQL cluster does not commit durably" >&2; exit 1; }
P4=$(free_port)
ismsd_conf "$PGURL" "$P4" >"$B/pg.conf"
build/ismsctl -c "$B/pg.conf" init >/dev/null
build/ismsctl -c "$B/pg.conf" staff import "$B/staff.csv" >/dev/null
build/ismsd -c "$B/pg.conf" 2>"$B/pg-ismsd.err" &
QPID=$!
PIDS="$PIDS $QPID"
wait_port "$P4"
sleep 1
Q_IDLE=$(rss_kb $QPID)
load pg "$P4" "SELECT COUNT(*) FROM incidents" "$PGURL"
Q_LOAD=$(hwm_kb $QPID)
kill $QPID; wait $QPID || true
scripts/pg-cluster.sh stop "$PGDIR"
PGDIR=""

# --- ismsd, Slack Socket Mode ------------------------------------------
# bench/socket_load.py plays Slack (Web API and the WebSocket), keeps W
# slash-command envelopes outstanding and counts the acks; ismsd acks an
# envelope only once its incident is durable
SOCK_DB=$B/socket.db
ismsd_db "$SOCK_DB"
for w in 8 64; do
	rm -f "$B/sock.port"
	$PY bench/socket_load.py "$B/sock.port" "$w" "$DUR" "sock$w" >"$B/sock-$w.txt" &
	LPID=$!
	PIDS="$PIDS $LPID"
	i=0
	until [ -s "$B/sock.port" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "socket load generator did not start" >&2; exit 1; }
		sleep 0.1
	done
	before=$(sqlite3 "$SOCK_DB" "SELECT COUNT(*) FROM incidents")
	cat >"$B/sock.conf" <<EOC
[store]
path = $SOCK_DB
[slack]
enabled = true
app_token = xapp-1-bench
bot_token = xoxb-bench
api_base = http://127.0.0.1:$(cat "$B/sock.port")/api
[quiz]
every = off
[report]
every = off
[log]
level = error
EOC
	build/ismsd -c "$B/sock.conf" 2>"$B/sock-ismsd.err" &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait $LPID || true
	kill $SPID; wait $SPID || true
	echo "socket w=$w $(grep '^RESULT' "$B/sock-$w.txt") rows=$(($(sqlite3 "$SOCK_DB" "SELECT COUNT(*) FROM incidents") - before))" | tee -a "$B/raw.txt"
done
sock() { grep "^socket w=$1 " "$B/raw.txt" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"; }

# --- the CPU's limit: the same on a database in memory (tmpfs) ----------
# every sync returns at once there: what the two cores allow ismsd (with
# wrk on the same cores) when the disk costs nothing
SHM=$(mktemp -d /dev/shm/isms-bench-XXXXXX)
ismsd_db "$SHM/isms.db"
P3=$(free_port)
ismsd_conf "$SHM/isms.db" "$P3" >"$B/cpu.conf"
build/ismsd -c "$B/cpu.conf" 2>"$B/cpu.err" &
CPID=$!
PIDS="$PIDS $CPID"
wait_port "$P3"
sleep 1
load cpu "$P3" "SELECT COUNT(*) FROM incidents" "$SHM/isms.db"
kill $CPID; wait $CPID || true
rm -rf "$SHM"

# --- the Bolt baseline ------------------------------------------------
(cd bench/baseline && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
	npm install --no-audit --no-fund --loglevel=error >/dev/null)
P2=$(free_port)
(cd "$B" && PORT=$P2 SLACK_SIGNING_SECRET=$(cat "$B/secret") BASELINE_DB="$B/bolt.db" \
	exec node "$ROOT/bench/baseline/app.js" >"$B/bolt.out" 2>"$B/bolt.err") &
BPID=$!
PIDS="$PIDS $BPID"
wait_port "$P2"
sleep 1
BNODE=$(pgrep -P $BPID node || echo $BPID)
B_IDLE=$(rss_kb $BNODE)
load bolt "$P2" "SELECT COUNT(*) FROM incidents" "$B/bolt.db"
B_LOAD=$(hwm_kb $BNODE)
kill $BPID 2>/dev/null || true
kill $BNODE 2>/dev/null || true

# --- 100,000 people ---------------------------------------------------
BIG=$B/big.db
build/ismsctl --db "$BIG" init >/dev/null
$PY bench/gen_staff.py 100000 >"$B/big.csv"
/usr/bin/time -f "%e %M" -o "$B/import.time" build/ismsctl --db "$BIG" staff import "$B/big.csv" >/dev/null
IMPORT_S=$(cut -d' ' -f1 "$B/import.time")
IMPORT_KB=$(cut -d' ' -f2 "$B/import.time")
sed -e "s|^path = .*|path = $BIG|" -e "s|^listen = .*|listen = 127.0.0.1:$(free_port)|" "$B/ismsd.conf" >"$B/big.conf"
build/ismsd -c "$B/big.conf" 2>"$B/big.err" &
GPID=$!
PIDS="$PIDS $GPID"
sleep 2
G_IDLE=$(rss_kb $GPID)
kill $GPID; wait $GPID || true

# --- a quiz campaign to 100,000 people ----------------------------------
printf '[store]\npath = %s\n[org]\nworking_days = mon-sun\nworking_hours = 00:00-24:00\n' "$BIG" >"$B/quiz.conf"
before=$(sqlite3 "$BIG" "SELECT COUNT(*) FROM outbox")
/usr/bin/time -f "%e %M" -o "$B/quiz.time" sh -c "echo 'quiz start questions=5 audience=all' | build/ismsd --console -c '$B/quiz.conf' --as u000000 >'$B/quiz.out'"
QUIZ_S=$(cut -d' ' -f1 "$B/quiz.time")
QUIZ_ROWS=$(( $(sqlite3 "$BIG" "SELECT COUNT(*) FROM outbox") - before ))
QUIZ_ITEMS=$(sqlite3 "$BIG" "SELECT COUNT(*) FROM quiz_items")

# --- outbox delivery through the fake Slack, other requests meanwhile ----
# a campaign's first questions to OB_N people delivered through
# tests/fakes/slack (no rate limits applied) while signed /incident
# commands arrive 50 a second; their answers timed, then again idle
OB_N=${BENCH_OUTBOX:-10000}
BENCH_DIR=$B bench/outbox_load.sh "$OB_N" 50 >"$B/outbox.txt"
# the same on PostgreSQL (a fresh cluster), with OB_PG people: fewer by
# default, as delivery there is slower (see bench/README.md)
OB_PG=${BENCH_OUTBOX_PG:-2000}
PGDIR=$B/pg
PGURL=$(scripts/pg-cluster.sh start "$PGDIR")
BENCH_DIR=$B/pg-outbox BENCH_PG_URL=$PGURL bench/outbox_load.sh "$OB_PG" 50 >"$B/pg-outbox.txt"
scripts/pg-cluster.sh stop "$PGDIR"
PGDIR=""
ob() { grep '^RESULT' "${2:-$B/outbox.txt}" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
ms() { awk "BEGIN{print $(ob "$1" "${2:-}")/1000}"; }

# --- the table ----------------------------------------------------------
{
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
echo
echo "Signed Slack HTTP-mode /incident commands, ${DUR} s per row, every answered request a durable incident (WAL, synchronous=FULL):"
echo
echo "| clients | ismsd req/s | p50 ms | p99 ms | rows | Bolt req/s | p50 ms | p99 ms | rows | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for i in 1 2 3; do
	c=$(echo "1 8 64" | cut -d' ' -f$i)
	ir=$(field $i rps); br=$(field $((i + 6)) rps)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %sx |\n' "$c" \
		"$ir" "$(awk "BEGIN{print $(field $i p50_us)/1000}")" "$(awk "BEGIN{print $(field $i p99_us)/1000}")" "$(field $i rows)" \
		"$br" "$(awk "BEGIN{print $(field $((i + 6)) p50_us)/1000}")" "$(awk "BEGIN{print $(field $((i + 6)) p99_us)/1000}")" "$(field $((i + 6)) rows)" \
		"$(awk "BEGIN{printf \"%.1f\", $ir/$br}")"
done
echo
echo "The same load and staff on PostgreSQL $PG_VER (scripts/pg-cluster.sh on the same disk, the server's Unix socket; SHOW on the URL: synchronous_commit = $PG_SYNC, fsync = $PG_FSYNC), next to the SQLite rows above; ismsd's RSS idle $((Q_IDLE / 1024)) MiB, peak $((Q_LOAD / 1024)) MiB:"
echo
echo "| clients | store | req/s | p50 ms | p99 ms | rows |"
echo "|---|---|---|---|---|---|"
for i in 1 2 3; do
	c=$(echo "1 8 64" | cut -d' ' -f$i)
	printf '| %s | SQLite (WAL, synchronous=FULL) | %s | %s | %s | %s |\n' "$c" \
		"$(field $i rps)" "$(awk "BEGIN{print $(field $i p50_us)/1000}")" "$(awk "BEGIN{print $(field $i p99_us)/1000}")" "$(field $i rows)"
	printf '| %s | PostgreSQL %s (local socket, synchronous_commit = %s) | %s | %s | %s | %s |\n' "$c" "$PG_VER" "$PG_SYNC" \
		"$(pgfield $c rps)" "$(awk "BEGIN{print $(pgfield $c p50_us)/1000}")" "$(awk "BEGIN{print $(pgfield $c p99_us)/1000}")" "$(pgfield $c rows)"
done
echo
echo "The limit: this disk makes $FSYNC durable single-row commits a second (bench/fsync_probe.py: SQLite, WAL, synchronous=FULL), so c clients can be answered at most c x $FSYNC times a second; the CPU's limit is ismsd on a database in memory (tmpfs), same load:"
echo
echo "| clients | disk limit (c x $FSYNC) | CPU limit (tmpfs) req/s | limit | ismsd req/s | ismsd / limit |"
echo "|---|---|---|---|---|---|"
for i in 1 2 3; do
	c=$(echo "1 8 64" | cut -d' ' -f$i)
	ir=$(field $i rps); cr=$(field $((i + 3)) rps)
	awk -v c="$c" -v f="$FSYNC" -v cr="$cr" -v ir="$ir" 'BEGIN{d = c * f; l = d < cr ? d : cr;
		printf "| %s | %d | %s | %d | %s | %.0f%% |\n", c, d, cr, l, ir, 100 * ir / l}'
done
echo
echo "Slack Socket Mode: /incident envelopes pushed over the WebSocket by bench/socket_load.py (Python, on the same cores), each acked only once its incident is durable:"
echo
echo "| envelopes outstanding | acks/s | p50 ms | p99 ms | rows |"
echo "|---|---|---|---|---|"
for w in 8 64; do
	echo "| $w | $(sock $w rps) | $(awk "BEGIN{print $(sock $w p50_us)/1000}") | $(awk "BEGIN{print $(sock $w p99_us)/1000}") | $(sock $w rows) |"
done
echo
echo "| memory (RSS) | ismsd | Bolt baseline |"
echo "|---|---|---|"
echo "| idle | $((I_IDLE / 1024)) MiB | $((B_IDLE / 1024)) MiB |"
echo "| peak under load | $((I_LOAD / 1024)) MiB | $((B_LOAD / 1024)) MiB |"
echo "| idle with 100,000 people in the directory | $((G_IDLE / 1024)) MiB | - |"
echo
echo "| 100,000 people | result |"
echo "|---|---|"
echo "| ismsctl staff import | ${IMPORT_S} s, peak $((IMPORT_KB / 1024)) MiB |"
echo "| quiz start questions=5 audience=all | ${QUIZ_S} s; $QUIZ_ROWS outbox rows (first questions), $QUIZ_ITEMS questions planned |"
echo
echo "Outbox delivery of $(ob queued) quiz questions through the fake Slack (tests/fakes/slack, no rate limits applied), signed /incident commands sent 50 a second meanwhile:"
echo
echo "| delivered | seconds | notices/s | ismsd peak RSS | /incident p50 ms | p99 ms | max ms | same, nothing to deliver: p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $(ob sent) | $(ob seconds) | $(ob per_s) | $(($(ob peak_rss_kb) / 1024)) MiB | $(ms busy_p50_us) | $(ms busy_p99_us) | $(ms busy_max_us) | $(ms idle_p50_us) / $(ms idle_p99_us) |"
echo
echo "The same on PostgreSQL $PG_VER (local socket, synchronous_commit = $PG_SYNC), a campaign to $(ob queued "$B/pg-outbox.txt") people (BENCH_OUTBOX_PG):"
echo
echo "| store | delivered | seconds | notices/s | ismsd peak RSS | /incident p50 ms | p99 ms | max ms | same, nothing to deliver: p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for f in "$B/outbox.txt" "$B/pg-outbox.txt"; do
	[ "$f" = "$B/outbox.txt" ] && e="SQLite (WAL, synchronous=FULL)" || e="PostgreSQL $PG_VER (local socket, synchronous_commit = $PG_SYNC)"
	echo "| $e | $(ob sent "$f") | $(ob seconds "$f") | $(ob per_s "$f") | $(($(ob peak_rss_kb "$f") / 1024)) MiB | $(ms busy_p50_us "$f") | $(ms busy_p99_us "$f") | $(ms busy_max_us "$f") | $(ms idle_p50_us "$f") / $(ms idle_p99_us "$f") |"
done
} | tee "$B/results.md"
