# Shared helpers for integration scripts (sourced). Each script gets a
# private temporary directory $T, removed on exit, and the binaries in
# $ISMS_BIN (the sanitizer build when run by make test).
#
# Engines: every script runs on SQLite; one marked "# engines: sqlite pg"
# near its top runs on PostgreSQL too (tests/run.sh does both; "sqlite
# pg-by-hand": only when run by hand), with ISMS_TEST_ENGINE=pg and
# ISMS_PG_URL a libpq URL (scripts/pg-cluster.sh start DIR). There db_path
# makes a fresh schema instead of naming a file, store_conf writes the
# [store] lines that reach it, and new_db, sql, db_query, db_digest and
# console work on whichever engine holds the database.
set -eu
: "${ISMS_BIN:=$PWD/build/san}"
ISMSD="$ISMS_BIN/ismsd"
ISMSCTL="$ISMS_BIN/ismsctl"
PY=/usr/bin/python3
T=$(mktemp -d /tmp/isms-it-XXXXXX)
PIDS=""
ENGINE=${ISMS_TEST_ENGINE:-sqlite}
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	[ "$ENGINE" != pg ] || pg_drop_schemas
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

case "$ENGINE" in
sqlite) ;;
pg)
	[ -n "${ISMS_PG_URL:-}" ] || fail "ISMS_TEST_ENGINE=pg needs ISMS_PG_URL"
	if ! grep -q '^# engines:.* pg' "$0"; then
		echo "skip: $(basename "$0") runs on SQLite only"
		exit 0
	fi
	# the script's schemas share one audit key, named for every ismsctl
	# and console run without -c (a PostgreSQL store needs it named)
	PG_KEY=$T/pg-audit-key
	printf '[store]\naudit_key = file:%s\n' "$PG_KEY" >"$T/pg-store.conf"
	export ISMSD_CONFIG="$T/pg-store.conf"
	;;
*) fail "ISMS_TEST_ENGINE is sqlite or pg, not $ENGINE" ;;
esac

# expect_in FILE TEXT: the file contains the fixed string.
expect_in() {
	grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "expected \"$2\" in $1"; }
}

expect_not_in() {
	if grep -qF -- "$2" "$1"; then
		echo "--- $1:"
		cat "$1"
		fail "did not expect \"$2\" in $1"
	fi
}

is_url() {
	case "$1" in
	postgresql://* | postgres://*) return 0 ;;
	esac
	return 1
}

# pg_sql URL QUERY: psql, rows '|'-separated as the sqlite3 shell prints
# them; a lock is waited for up to 10 s.
pg_sql() {
	PGOPTIONS="-c lock_timeout=10000 -c client_min_messages=warning" \
		psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# pg_schema NAME: the schema of this script's database NAME.
pg_schema() {
	printf 'it_%s_%s' "$$" "$(printf '%s' "$1" | tr -c 'a-zA-Z0-9' _ | tr A-Z a-z)"
}

pg_drop_schemas() {
	pg_sql "$ISMS_PG_URL" "SELECT format('DROP SCHEMA %I CASCADE;', nspname) FROM pg_namespace WHERE nspname LIKE 'it\\_$$\\_%'" >"$T/drop.sql" 2>/dev/null || return 0
	[ -s "$T/drop.sql" ] || return 0
	PGOPTIONS="-c lock_timeout=5000 -c client_min_messages=warning" \
		psql -XAtq -d "$ISMS_PG_URL" -f "$T/drop.sql" >/dev/null 2>&1 || true
}

# db_path NAME: where a database goes: the file $T/NAME on SQLite; on
# PostgreSQL a fresh schema (dropped at exit), printed as its URL.
db_path() {
	if [ "$ENGINE" != pg ]; then
		printf '%s/%s\n' "$T" "$1"
		return
	fi
	s=$(pg_schema "$1")
	pg_sql "$ISMS_PG_URL" "DROP SCHEMA IF EXISTS $s CASCADE; CREATE SCHEMA $s" >/dev/null
	case "$ISMS_PG_URL" in
	*\?*) printf '%s&options=-csearch_path%%3D%s\n' "$ISMS_PG_URL" "$s" ;;
	*) printf '%s?options=-csearch_path%%3D%s\n' "$ISMS_PG_URL" "$s" ;;
	esac
}

# store_conf DB: the lines of a [store] section that open DB.
store_conf() {
	if is_url "$1"; then
		printf 'url = %s\naudit_key = file:%s\n' "$1" "$PG_KEY"
	else
		printf 'path = %s\n' "$1"
	fi
}

# sql DB QUERY: the rows, '|'-separated. Waits for a lock, as a daemon
# just started after a crash holds one while it recovers the log.
sql() {
	if is_url "$1"; then
		pg_sql "$1" "$2"
	else
		sqlite3 -batch -cmd ".timeout 5000" "$1" "$2"
	fi
}

# sql_is DB QUERY VALUE: the query's answer is VALUE (for wait_for).
sql_is() {
	[ "$(sql "$1" "$2" 2>/dev/null)" = "$3" ]
}

# db_query QUERY: sql on $DB.
db_query() {
	sql "$DB" "$1"
}

# console DB HANDLE: runs stdin through the console, output in $T/out.
console() {
	"$ISMSD" --console --db "$1" --as "$2" >"$T/out" 2>"$T/err" || return $?
}

new_db() {
	"$ISMSCTL" --db "$1" init >/dev/null
	"$ISMSCTL" --db "$1" staff import "${2:-config/demo/staff.csv}" >/dev/null
}

# db_digest DB [TABLE...]: a digest of the tables' rows (by default every
# table's but the inbox's): unchanged means nothing changed.
db_digest() {
	d=$1
	shift
	if is_url "$d"; then
		if [ $# -gt 0 ]; then
			w="table_name IN ('$(echo "$*" | sed "s/ /', '/g")')"
		else
			w="table_name <> 'inbox'"
		fi
		# one md5 of each table's rows in order, table by table
		printf '%s \\gexec\n' "SELECT format('SELECT %L, md5(COALESCE(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %I t', table_name, table_name) FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND $w ORDER BY table_name" |
			psql -XAtq -v ON_ERROR_STOP=1 -d "$d" -f - | sha256sum | cut -c1-16
	elif [ $# -gt 0 ]; then
		sqlite3 "$d" ".dump $*" | sha256sum | cut -c1-16
	else
		sqlite3 "$d" .dump | grep -v '^INSERT INTO inbox' | sha256sum | cut -c1-16
	fi
}

# outbox_settled DB: waits (up to 10 s) until every outbox message is
# routed and no delivery is pending, so a digest taken next is stable.
outbox_quiet() {
	[ "$(sql "$1" "SELECT (SELECT COUNT(*) FROM outbox WHERE routed = 0) + (SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending')")" = 0 ]
}
outbox_settled() {
	wait_for outbox_quiet "$1"
}

# wait_for CMD...: retries for up to 10 s.
wait_for() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}
