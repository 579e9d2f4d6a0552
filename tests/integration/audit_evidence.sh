# Evidence that proves itself: the audit chain is keyed with a key kept
# outside the database, the published head catches rows cut off the end,
# a chain recomputed without the key fails, records edited behind the
# program's back are named, and the scheduler sends the head to the
# isms_managers and auditors once a day.
. tests/integration/lib.sh
DB=$T/isms.db
KEY=$DB.audit-key
new_db "$DB"

# --- the key: made by init beside the database, 0600, hex and "since"
[ -f "$KEY" ] || fail "init made no audit key"
[ "$(stat -c %a "$KEY")" = 600 ] || fail "audit key mode $(stat -c %a "$KEY")"
head -1 "$KEY" | grep -qE '^[0-9a-f]{64}$' || fail "audit key is not 64 hex characters"
since=$(sed -n 's/^since \([0-9]*\)$/\1/p' "$KEY")
[ -n "$since" ] || fail "audit key has no since line"
[ "$(sql "$DB" "SELECT action || '|' || keyed FROM audit_log WHERE seq = $since")" = "audit.keyed|1" ] ||
	fail "the key's first row"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE seq >= $since AND NOT keyed")" = 0 ] ||
	fail "unkeyed rows after the key"

printf 'risk add Laptop theft likelihood=4 impact=4\n' | console "$DB" bob
expect_in "$T/out" "Risk RSK-1 recorded"
printf '/incident Tailgating at the side door\n' | console "$DB" alice
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "verify of an intact log"; }
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "records intact"

# --- the head: printed, checked, and in the report
"$ISMSCTL" --db "$DB" audit head >"$T/head"
H=$(cat "$T/head")
echo "$H" | grep -qE '^[0-9]+:[0-9a-f]{64}$' || fail "audit head: $H"
[ "${H%%:*}" = "$(sql "$DB" "SELECT MAX(seq) FROM audit_log")" ] || fail "head is not the newest row"
"$ISMSCTL" --db "$DB" audit verify --head "$H" >"$T/v" || fail "verify --head of an intact log"
expect_in "$T/v" "published head $H found"
"$ISMSCTL" --db "$DB" report >"$T/r"
expect_in "$T/r" "Audit log head: $H"
set +e
"$ISMSCTL" --db "$DB" audit verify --head "12:nothex" >"$T/v" 2>"$T/e"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a malformed --head: exit $rc"
expect_in "$T/e" "expected SEQ:HASH"

# --- a record edited with the sqlite3 shell is named
cp "$DB" "$T/pristine.db"
cp "$KEY" "$T/pristine.db.audit-key"
rseq=$(sql "$DB" "SELECT seq FROM record_hashes WHERE tbl = 'risks' AND row = 1")
sqlite3 "$DB" "UPDATE risks SET likelihood=1"
set +e
"$ISMSCTL" --db "$DB" audit verify >"$T/v"
rc=$?
set -e
[ "$rc" = 3 ] || fail "verify after a record edit: exit $rc"
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "RSK-1: changed outside ismsd since seq $rseq"
sqlite3 "$DB" "DELETE FROM incident_timeline; DELETE FROM incidents WHERE id = 1"
set +e
"$ISMSCTL" --db "$DB" audit verify >"$T/v"
set -e
expect_in "$T/v" "INC-1: removed outside ismsd"

# --- the newest row deleted: the chain alone still verifies, the head
#     does not
cp "$T/pristine.db" "$DB"
cp "$T/pristine.db.audit-key" "$KEY"
rm -f "$DB-wal" "$DB-shm"
sqlite3 "$DB" "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || fail "a shorter chain still links"
set +e
"$ISMSCTL" --db "$DB" audit verify --head "$H" >"$T/v"
rc=$?
set -e
[ "$rc" = 3 ] || fail "verify --head after tail deletion: exit $rc"
expect_in "$T/v" "row ${H%%:*} is missing: the log ends at $((${H%%:*} - 1))"

# --- the whole chain recomputed without the key (plain SHA-256) fails
cp "$T/pristine.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
$PY - "$DB" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
prev = "0" * 64
for seq, at, actor, action, obj, det in db.execute(
        "SELECT seq, at, actor, action, object, details FROM audit_log ORDER BY seq").fetchall():
    h = hashlib.sha256()
    for part in (prev, str(seq), at, actor, action, obj, det):
        b = part.encode()
        h.update(b"%d:" % len(b) + b)
    new = h.hexdigest()
    db.execute("UPDATE audit_log SET prev_hash = ?, hash = ?, keyed = 0 WHERE seq = ?", (prev, new, seq))
    prev = new
db.commit()
EOF
set +e
"$ISMSCTL" --db "$DB" audit verify >"$T/v"
rc=$?
set -e
[ "$rc" = 3 ] || fail "a chain recomputed without the key: exit $rc"
expect_in "$T/v" "BROKEN at sequence $since"

# --- the key missing: verify says so (exit 2), writers refuse and make
#     no new key
cp "$T/pristine.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
mv "$KEY" "$T/key.away"
set +e
"$ISMSCTL" --db "$DB" audit verify >"$T/v" 2>"$T/e"
rc=$?
set -e
[ "$rc" = 2 ] || fail "verify without the key: exit $rc"
expect_in "$T/e" "audit key $KEY missing: restore it"
set +e
printf '/incident x\n' | console "$DB" alice
rc=$?
set -e
[ "$rc" = 2 ] || fail "console without the key: exit $rc"
expect_in "$T/err" "missing: restore it"
[ ! -e "$KEY" ] || fail "a new key was made over keyed rows"
# a key kept elsewhere, named in the configuration
mv "$T/key.away" "$T/elsewhere.key"
printf '[store]\npath = %s\naudit_key = file:%s/elsewhere.key\n' "$DB" "$T" >"$T/conf"
"$ISMSCTL" -c "$T/conf" audit verify >"$T/v" || { cat "$T/v"; fail "verify with a configured key"; }
printf '[store]\naudit_key = /no/prefix\n' >"$T/bad.conf"
"$ISMSD" --check-config -c "$T/bad.conf" >"$T/e" 2>&1 && fail "a key spec without file: passed"
expect_in "$T/e" "store.audit_key: expected file:/path or env:NAME"
mv "$T/elsewhere.key" "$KEY"

# --- the scheduler publishes the head once a day to the isms_managers
#     and auditors, in their working time
heads() {
	sql "$DB" "SELECT group_concat(p.handle, ',') FROM (SELECT p.handle FROM outbox o JOIN people p ON p.id = o.person_id WHERE o.kind = 'audit' AND o.subject LIKE 'Audit log head, $1%' ORDER BY p.handle) p"
}
"$ISMSCTL" --db "$DB" run-scheduler --now "2027-03-08 15:00" >"$T/pass"
[ "$(heads 2027-03-08)" = "carol,erik,grace" ] || fail "head sent to $(heads 2027-03-08)"
body=$(sql "$DB" "SELECT body FROM outbox WHERE kind = 'audit' ORDER BY id LIMIT 1")
seqhash=$(echo "$body" | sed -n 's/.*audit verify --head \([0-9]*:[0-9a-f]*\).*/\1/p')
[ -n "$seqhash" ] || fail "the message has no head: $body"
"$ISMSCTL" --db "$DB" audit verify --head "$seqhash" >/dev/null || fail "the published head does not verify"
"$ISMSCTL" --db "$DB" run-scheduler --now "2027-03-08 16:00" >"$T/pass"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'audit'")" = 3 ] || fail "head sent twice a day"
"$ISMSCTL" --db "$DB" run-scheduler --now "2027-03-09 15:00" >"$T/pass"
[ "$(heads 2027-03-09)" = "carol,erik,grace" ] || fail "next day's head"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'audit.head'")" = 6 ] || fail "ledger"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "verify after the passes"; }
echo "audit evidence ok"
