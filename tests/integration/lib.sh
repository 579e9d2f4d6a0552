# Shared helpers for integration scripts (sourced). Each script gets a
# private temporary directory $T, removed on exit, and the binaries in
# $ISMS_BIN (the sanitizer build when run by make test).
set -eu
: "${ISMS_BIN:=$PWD/build/san}"
ISMSD="$ISMS_BIN/ismsd"
ISMSCTL="$ISMS_BIN/ismsctl"
PY=/usr/bin/python3
T=$(mktemp -d /tmp/isms-it-XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

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

# sql DB QUERY: one value. Waits for a lock, as a daemon just started
# after a crash holds one while it recovers the log.
sql() {
	sqlite3 -cmd ".timeout 5000" "$1" "$2"
}

# console DB HANDLE: runs stdin through the console, output in $T/out.
console() {
	"$ISMSD" --console --db "$1" --as "$2" >"$T/out" 2>"$T/err" || return $?
}

new_db() {
	"$ISMSCTL" --db "$1" init >/dev/null
	"$ISMSCTL" --db "$1" staff import "${2:-config/demo/staff.csv}" >/dev/null
}

# A digest of every table's rows: unchanged means nothing changed.
db_digest() {
	sqlite3 "$1" .dump | grep -v '^INSERT INTO inbox' | sha256sum | cut -c1-16
}

# outbox_settled DB: waits (up to 10 s) until every outbox message is
# routed and no delivery is pending, so a digest taken next is stable.
outbox_quiet() {
	[ "$(sqlite3 "$1" "SELECT (SELECT COUNT(*) FROM outbox WHERE routed = 0) + (SELECT COUNT(*) FROM outbox_delivery WHERE status = 'pending')")" = 0 ]
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
