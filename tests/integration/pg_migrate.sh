# ismsctl migrate --to postgresql://...: a demo database with incidents,
# risks, control changes, an approval and outbox rows is copied into a
# fresh PostgreSQL schema; every table has the same rows, the audit
# chain and the record hashes verify there with the same key, every
# export is byte-identical, the next incident gets the next number, and
# the copy's audit log notes the move. Refused: a second copy into the
# same target, a source whose audit log was altered or whose schema is
# older, an unreachable or malformed URL (whose password is never
# shown); each changes nothing.
# Uses $ISMS_PG_URL, or a cluster of its own (scripts/pg-cluster.sh).
. tests/integration/lib.sh

command -v psql >/dev/null || fail "psql is needed (postgresql-client)"
PGDIR=""
SCHEMAS=""
pg_cleanup() {
	for s in $SCHEMAS; do
		psql "$BASE" -qc "DROP SCHEMA IF EXISTS $s CASCADE" \
			>/dev/null 2>&1 || true
	done
	if [ -n "$PGDIR" ]; then
		scripts/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1 || true
	fi
	cleanup
}
trap pg_cleanup EXIT INT TERM
if [ -n "${ISMS_PG_URL:-}" ]; then
	BASE=$ISMS_PG_URL
else
	# not under $T: the server's user must reach it
	PGDIR=$(mktemp -d -u /tmp/isms-it-pg-XXXXXX)
	BASE=$(scripts/pg-cluster.sh start "$PGDIR") || fail "no PostgreSQL cluster"
fi
# new_schema NAME: a fresh schema, dropped at the end
new_schema() {
	psql "$BASE" -qc "CREATE SCHEMA $1" || fail "cannot create schema $1"
	SCHEMAS="$SCHEMAS $1"
}
# schema_url NAME: the URL working in that schema
schema_url() {
	case "$BASE" in
	*\?*) echo "$BASE&options=-csearch_path%3D$1" ;;
	*) echo "$BASE?options=-csearch_path%3D$1" ;;
	esac
}
# pgq URL QUERY: one value
pgq() {
	psql "$1" -XAtqc "$2"
}

# --- the source: the demo register, an approval decided, outbox rows
DB=$T/isms.db
"$ISMSCTL" --db "$DB" init >/dev/null
"$ISMSCTL" --db "$DB" staff import config/demo/staff.csv >/dev/null
"$ISMSCTL" --db "$DB" seed config/demo/seed.txt >/dev/null
printf 'soa approve First approved SoA\n' | console "$DB" dana
expect_in "$T/out" "version 1"
printf 'approve APR-1 Accepted until the MFA roll-out\n' | console "$DB" dana
[ "$(sql "$DB" "SELECT COUNT(*) FROM approvals WHERE status <> 'pending'")" -ge 1 ] ||
	fail "no decided approval in the source"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox")" -gt 0 ] || fail "no outbox rows"
[ "$(sql "$DB" "SELECT COUNT(*) FROM people WHERE manager_id IS NOT NULL")" -gt 0 ] ||
	fail "nobody has a manager"
LAST_INC=$(sql "$DB" "SELECT MAX(id) FROM incidents")
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "the source does not verify"
HEAD=$("$ISMSCTL" --db "$DB" audit head)
SEQ=${HEAD%%:*}
src_digest=$(db_digest "$DB")

# --- refusals before anything is written
# an unreachable server and a malformed URL: clear, without the password
PW=Sup3rSecretPw
for bad in "postgresql://isms:$PW@127.0.0.1:1/isms" \
	"postgresql://isms:$PW@[::1/isms" \
	"postgresql://isms@127.0.0.1:1/isms?password=$PW"; do
	rc=0
	"$ISMSCTL" --db "$DB" migrate --to "$bad" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || fail "a bad URL exited $rc: $(cat "$T/err")"
	expect_not_in "$T/err" "$PW"
	expect_not_in "$T/out" "$PW"
	[ -s "$T/err" ] || fail "no message for $bad"
done
expect_in "$T/err" "cannot connect"
rc=0
"$ISMSCTL" --db "$DB" migrate --to "$DB" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "a path as --to exited $rc"
expect_in "$T/err" "usage: ismsctl migrate --to postgresql://"

# a source a gateway still runs on (its lock held)
$PY -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)' "$DB.lock" >"$T/locked" &
LOCKER=$!
PIDS="$PIDS $LOCKER"
wait_for grep -q locked "$T/locked" || fail "the lock was not taken"
rc=0
"$ISMSCTL" --db "$DB" migrate --to "$BASE" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "a source in use exited $rc"
expect_in "$T/err" "stop ismsd before migrating"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null || true

# a source whose audit log was altered
"$ISMSCTL" --db "$DB" backup "$T/bad.db" >/dev/null
[ -f "$T/bad.db.audit-key" ] || cp "$DB.audit-key" "$T/bad.db.audit-key"
sql "$T/bad.db" "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5"
new_schema "m_$$_bad"
URL_BAD=$(schema_url "m_$$_bad")
rc=0
"$ISMSCTL" --db "$T/bad.db" migrate --to "$URL_BAD" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "an altered source exited $rc"
expect_in "$T/err" "the audit log does not verify (broken at sequence 5"
expect_in "$T/err" "nothing was copied"
[ "$(pgq "$URL_BAD" "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()")" = 0 ] ||
	fail "the refused copy wrote tables"
# a source with an older schema: to be migrated by init first
"$ISMSCTL" --db "$DB" backup "$T/old.db" >/dev/null
[ -f "$T/old.db.audit-key" ] || cp "$DB.audit-key" "$T/old.db.audit-key"
sql "$T/old.db" "DELETE FROM schema_migrations WHERE name > '003'; PRAGMA user_version = 3"
sum=$(sha256sum "$T/old.db" | cut -c1-64)
rc=0
"$ISMSCTL" --db "$T/old.db" migrate --to "$URL_BAD" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "an older schema exited $rc"
expect_in "$T/err" "its schema is older than this program's: run \"ismsctl --db $T/old.db init\" on it first"
[ "$(sha256sum "$T/old.db" | cut -c1-64)" = "$sum" ] || fail "the older source changed"
[ "$(pgq "$URL_BAD" "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()")" = 0 ] ||
	fail "the refused copy wrote tables"

# --- the copy
new_schema "m_$$"
URL=$(schema_url "m_$$")
"$ISMSCTL" --db "$DB" migrate --to "$URL" >"$T/mig" 2>"$T/err" ||
	fail "migrate failed: $(cat "$T/err")"
expect_in "$T/mig" "audit head $HEAD"
expect_in "$T/mig" "audit verify: ok ($SEQ entries)"
expect_in "$T/mig" "records verify: ok"
expect_not_in "$T/mig" "$URL"
[ "$(db_digest "$DB")" = "$src_digest" ] || fail "migrate changed the source"

# every table holds the same rows (the log one more: the move)
qs=""
qp=""
n=0
for t in $(sql "$DB" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name"); do
	more=""
	[ "$t" = audit_log ] && more=" + 1"
	qs="$qs${qs:+ UNION ALL }SELECT '$t' AS name, COUNT(*)$more FROM \"$t\""
	qp="$qp${qp:+ UNION ALL }SELECT '$t' AS name, COUNT(*) FROM \"$t\""
	n=$((n + 1))
done
sql "$DB" "$qs ORDER BY name" >"$T/rows.sqlite"
pgq "$URL" "SELECT * FROM ($qp) u ORDER BY name COLLATE \"C\"" >"$T/rows.pg"
[ "$(wc -l <"$T/rows.sqlite")" = "$n" ] || fail "the table counts were not read"
diff "$T/rows.sqlite" "$T/rows.pg" || fail "the tables' rows differ"
expect_in "$T/mig" "$n tables"
# the ids and the chain are the source's
[ "$(pgq "$URL" "SELECT string_agg(id::text || ':' || title, ',' ORDER BY id) FROM incidents")" = \
	"$(sql "$DB" "SELECT group_concat(id || ':' || title, ',') FROM (SELECT * FROM incidents ORDER BY id)")" ] ||
	fail "incidents differ"
[ "$(pgq "$URL" "SELECT hash FROM audit_log WHERE seq = $SEQ")" = "${HEAD#*:}" ] ||
	fail "the audit head differs"
[ "$(pgq "$URL" "SELECT action || ' ' || object FROM audit_log ORDER BY seq DESC LIMIT 1")" = \
	"store.migrate_from $DB" ] || fail "the move is not in the copy's audit log"

# ismsctl on the copy: the same key, named in a configuration
printf '[store]\nurl = %s\naudit_key = file:%s\n' "$URL" "$DB.audit-key" >"$T/pg.conf"
chmod 600 "$T/pg.conf"
"$ISMSCTL" -c "$T/pg.conf" audit verify >"$T/v" || fail "audit verify on the copy: $(cat "$T/v")"
expect_in "$T/v" "audit log intact: $((SEQ + 1)) entries"
expect_in "$T/v" "records intact"

# the exports are byte-identical (the audit log's: the source's rows
# first); Markdown, made from the same rows, for a few
for e in incidents approvals risks actions findings soa assets suppliers \
	staff context parties obligations training documents evidence \
	acknowledgements quiz-results objective-measurements reviews \
	party-feedback; do
	case $e in
	incidents | risks | soa | staff) formats="csv json md" ;;
	*) formats="csv json" ;;
	esac
	for f in $formats; do
		"$ISMSCTL" --db "$DB" export "$e" --format "$f" >"$T/a" ||
			fail "export $e $f on SQLite"
		"$ISMSCTL" -c "$T/pg.conf" export "$e" --format "$f" >"$T/b" ||
			fail "export $e $f on PostgreSQL"
		cmp -s "$T/a" "$T/b" || {
			diff "$T/a" "$T/b" | head -20
			fail "export $e --format $f differs"
		}
	done
done
"$ISMSCTL" --db "$DB" export mapping --framework nis2 --format csv >"$T/a"
"$ISMSCTL" -c "$T/pg.conf" export mapping --framework nis2 --format csv >"$T/b"
cmp -s "$T/a" "$T/b" || fail "export mapping differs"
"$ISMSCTL" --db "$DB" export audit-log --format csv >"$T/a"
"$ISMSCTL" -c "$T/pg.conf" export audit-log --format csv >"$T/b"
head -n "$(wc -l <"$T/a")" "$T/b" | cmp -s - "$T/a" || fail "export audit-log differs"

# the gateway goes on where it was: the next incident number
printf '/incident Tailgating at the London office severity=low category=physical\n' |
	"$ISMSD" --console -c "$T/pg.conf" --as alice >"$T/out" 2>"$T/err" ||
	fail "the console on the copy: $(cat "$T/err")"
expect_in "$T/out" "Recorded as INC-$((LAST_INC + 1))"
"$ISMSCTL" -c "$T/pg.conf" audit verify >"$T/v" || fail "audit verify after a command: $(cat "$T/v")"
# a URL alone is refused: the key is kept apart from the database
"$ISMSCTL" --db "$URL" audit head 2>"$T/err" && fail "a URL without a key was read"
expect_in "$T/err" "needs store.audit_key"

# --- a second copy into the same target: refused, nothing changed
before=$(pgq "$URL" "SELECT COUNT(*) || ' ' || MAX(seq) FROM audit_log")
rc=0
"$ISMSCTL" --db "$DB" migrate --to "$URL" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "a second migrate exited $rc"
expect_in "$T/err" "not empty"
expect_in "$T/err" "nothing was copied"
expect_not_in "$T/err" "$URL"
[ "$(pgq "$URL" "SELECT COUNT(*) || ' ' || MAX(seq) FROM audit_log")" = "$before" ] ||
	fail "the refused copy changed the target"

# --key: another name for the same key; into a second schema
cp "$DB.audit-key" "$T/other.key"
chmod 600 "$T/other.key"
new_schema "m_$$_k"
URL2=$(schema_url "m_$$_k")
"$ISMSCTL" --db "$DB" migrate --to "$URL2" --key "file:$T/other.key" >"$T/mig2" 2>"$T/err" ||
	fail "migrate --key failed: $(cat "$T/err")"
expect_in "$T/mig2" "records verify: ok"
echo "pg migrate ok"
