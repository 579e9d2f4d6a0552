# Helpers for the bench scripts (sourced): the processes they start (and
# the PostgreSQL cluster in PGDIR, scripts/pg-cluster.sh), free loopback
# ports, waiting for a listener, and memory from /proc.
PIDS=""
PGDIR=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	[ -z "$PGDIR" ] || scripts/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
PY=/usr/bin/python3
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# count DB SQL: a query's one value, DB an SQLite file or a postgresql:// URL
count() {
	case "$1" in
	postgresql://*) psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2" ;;
	*) sqlite3 -cmd ".timeout 2000" "$1" "$2" ;;
	esac
}
# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most)
wait_port() {
	i=0
	until $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "port $1 never opened" >&2; exit 1; }
		sleep 0.1
	done
}
# wait_file FILE WHAT: until FILE holds "port" (a fake that has started)
wait_file() {
	i=0
	until grep -q port "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "$2 did not start" >&2; exit 1; }
		sleep 0.1
	done
}
