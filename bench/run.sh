#!/bin/sh
# make bench: ismsd against a minimal Slack Bolt app doing the same durable
# insert, side by side on this machine, plus memory and a 100,000-person
# quiz campaign. Prints a Markdown table (also in build/bench/results.md).
# Loopback only; every run is bounded (wrk -d).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build/bench
DUR=${BENCH_SECONDS:-10}
rm -rf "$B"
mkdir -p "$B"
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
PY=/usr/bin/python3
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
wait_port() {
	i=0
	until $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "port $1 never opened" >&2; exit 1; }
		sleep 0.1
	done
}
printf '%s\n' 3f6c1e9a0b2d4f6a8c1e3b5d7f9a2c4e >"$B/secret"

# load NAME PORT ROWS_SQL DB: wrk at 1, 8 and 64 connections; each run
# gets fresh signed requests, and the rows it added are counted.
load() {
	name=$1 port=$2 rows_sql=$3 db=$4
	for c in 1 8 64; do
		t=$([ $c = 1 ] && echo 1 || echo 2)
		$PY bench/gen_requests.py "$B/secret" $((DUR * 30000)) "$name$c" >"$B/req.tsv"
		before=$(sqlite3 "$db" "$rows_sql")
		wrk -t$t -c$c -d${DUR}s -s bench/wrk_slash.lua "http://127.0.0.1:$port" -- "$B/req.tsv" $t >"$B/wrk-$name-$c.txt"
		sleep 0.5
		after=$(sqlite3 "$db" "$rows_sql")
		res=$(grep '^RESULT' "$B/wrk-$name-$c.txt")
		echo "$name c=$c $res rows=$((after - before))" | tee -a "$B/raw.txt"
	done
}
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$B/raw.txt" | sed -n "$1p"; }

# --- ismsd, Slack HTTP mode -------------------------------------------
DB=$B/isms.db
build/ismsctl --db "$DB" init >/dev/null
grep -v isms_manager config/demo/staff.csv >"$B/staff.csv" # alerts: outbox only
build/ismsctl --db "$DB" staff import "$B/staff.csv" >/dev/null
P1=$(free_port)
cat >"$B/ismsd.conf" <<EOC
[store]
path = $DB
[slack]
enabled = true
mode = http
bot_token = xoxb-bench
signing_secret = file:$B/secret
listen = 127.0.0.1:$P1
api_base = http://127.0.0.1:9/api
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
wait_port "$P1"
sleep 1
I_IDLE=$(rss_kb $IPID)
load ismsd "$P1" "SELECT COUNT(*) FROM incidents" "$DB"
I_LOAD=$(hwm_kb $IPID)
kill $IPID; wait $IPID || true

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

# --- the table ----------------------------------------------------------
{
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
echo
echo "Signed Slack HTTP-mode /incident commands, ${DUR} s per row, every request a durable incident (WAL, synchronous=FULL):"
echo
echo "| clients | ismsd req/s | p50 ms | p99 ms | rows | Bolt req/s | p50 ms | p99 ms | rows | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for i in 1 2 3; do
	c=$(echo "1 8 64" | cut -d' ' -f$i)
	ir=$(field $i rps); br=$(field $((i + 3)) rps)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %sx |\n' "$c" \
		"$ir" "$(awk "BEGIN{print $(field $i p50_us)/1000}")" "$(awk "BEGIN{print $(field $i p99_us)/1000}")" "$(field $i rows)" \
		"$br" "$(awk "BEGIN{print $(field $((i + 3)) p50_us)/1000}")" "$(awk "BEGIN{print $(field $((i + 3)) p99_us)/1000}")" "$(field $((i + 3)) rows)" \
		"$(awk "BEGIN{printf \"%.1f\", $ir/$br}")"
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
} | tee "$B/results.md"
