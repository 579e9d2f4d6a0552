# The database is never made up, changed by checking, or run twice:
# missing, empty, partial and newer files are refused with exit 2 and no
# file is created; checking commands leave a backup byte-identical and
# read a read-only copy; backups are 0600, verified, finish under writes
# and hold their outbox until released; a second daemon is refused.
. tests/integration/lib.sh
cd "$T"
W=$OLDPWD

# --- no phantom databases
for cmd in "audit verify" "report" "export risks --format csv" \
	"staff list" "outbox" "staff import $W/config/demo/staff.csv" \
	"outbox-retry" "backup $T/never.db"; do
	set +e
	# shellcheck disable=SC2086
	"$ISMSCTL" --db typo.db $cmd >out 2>err
	rc=$?
	set -e
	[ "$rc" = 2 ] || fail "ismsctl $cmd on a missing database: exit $rc"
	expect_in err "typo.db: no such database"
	[ ! -e typo.db ] || fail "ismsctl $cmd created typo.db"
	[ ! -e never.db ] || fail "backup of a missing database wrote a file"
done
set +e
"$ISMSD" --console --db typo.db --as alice </dev/null >out 2>err
rc=$?
set -e
[ "$rc" = 2 ] || fail "console on a missing database: exit $rc"
expect_in err "typo.db: no such database"
[ ! -e typo.db ] || fail "the console created typo.db"
printf '[store]\npath = %s/typo.db\n' "$T" >conf
set +e
"$ISMSD" -c conf 2>err
rc=$?
set -e
[ "$rc" = 2 ] || fail "ismsd on a missing database: exit $rc"
expect_in err "typo.db: no such database"
[ ! -e typo.db ] || fail "ismsd created typo.db"
: >empty.db
"$ISMSCTL" --db empty.db audit verify 2>err && fail "an empty file verified"
expect_in err "empty file, not an isms-gateway database"
[ ! -s empty.db ] || fail "the empty file was written"
echo "not a database" >text.db
"$ISMSCTL" --db text.db audit verify 2>err && fail "a text file verified"
expect_in err "not an SQLite database"
"$ISMSCTL" --db "$T" audit verify 2>err && fail "a directory verified"
expect_in err "is a directory"

# --- a real database; roles by name in the staff export
new_db live.db "$W/config/demo/staff.csv"
printf '/incident Laptop left on the train\n' | console live.db alice
"$ISMSCTL" --db live.db export staff --format csv >out
expect_in out "carol,Carol Diaz,carol@example.org,security,staff;manager;isms_manager"
grep -q ',[0-9][0-9]*$' out && fail "roles exported as numbers"

# --- backups: 0600, verified, marked, never over an existing file
"$ISMSCTL" --db live.db backup b1.db >out || fail "backup"
expect_in out "backup written to b1.db"
[ "$(stat -c %a b1.db)" = 600 ] || fail "backup mode $(stat -c %a b1.db)"
# the audit key kept beside the database goes beside the copy
cmp -s live.db.audit-key b1.db.audit-key || fail "backup without its audit key"
[ "$(stat -c %a b1.db.audit-key)" = 600 ] || fail "backup key mode"
ls b1.db* | grep -v -e '^b1.db$' -e '^b1.db.audit-key$' && fail "backup left side files"
"$ISMSCTL" --db live.db backup b1.db 2>err && fail "backup overwrote a file"
expect_in err "already exists"
ls | grep -q partial && fail "a partial file was left behind"

# --- checking never writes: byte-identical, read-only copy, old schema
sum=$(sha256sum b1.db | cut -c1-64)
"$ISMSCTL" --db b1.db audit verify >out || fail "verify of the backup"
"$ISMSCTL" --db b1.db export incidents --format json >/dev/null
"$ISMSCTL" --db b1.db report >/dev/null
[ "$(sha256sum b1.db | cut -c1-64)" = "$sum" ] || fail "checking changed the backup"
ls b1.db* | grep -v -e '^b1.db$' -e '^b1.db.audit-key$' && fail "checking left side files"
cp b1.db ro.db
cp b1.db.audit-key ro.db.audit-key
chmod 0444 ro.db
"$ISMSCTL" --db ro.db audit verify >out || fail "verify of a read-only copy"
expect_in out "audit log intact"
cp b1.db old.db
cp b1.db.audit-key old.db.audit-key
sqlite3 old.db "DELETE FROM schema_migrations WHERE name > '003'; PRAGMA user_version = 3"
sum=$(sha256sum old.db | cut -c1-64)
"$ISMSCTL" --db old.db audit verify >out || fail "verify of an older schema"
"$ISMSCTL" --db old.db export risks --format csv 2>err && fail "export of an older schema"
expect_in err "older than this program's"
[ "$(sha256sum old.db | cut -c1-64)" = "$sum" ] || fail "an old backup was migrated"
cp b1.db new.db
sqlite3 new.db "PRAGMA user_version = 99"
"$ISMSCTL" --db new.db audit verify 2>err && fail "a newer schema verified"
expect_in err "is newer than this program supports"
# a copy cut short: a rollback journal beside it
cp b1.db cut.db
echo "unfinished" >cut.db-journal
"$ISMSCTL" --db cut.db audit verify 2>err && fail "a partial copy verified"
expect_in err "unfinished write"

# --- one daemon per database; the restored copy holds its outbox
printf '[store]\npath = %s/live.db\n[quiz]\nevery = off\n' "$T" >live.conf
"$ISMSD" -c live.conf 2>d1.err &
PID=$!
PIDS="$PIDS $PID"
wait_for test -s live.db.lock || fail "no lock file"
set +e
timeout 20 "$ISMSD" -c live.conf 2>d2.err
rc=$?
set -e
[ "$rc" = 1 ] || fail "a second daemon on the same database: exit $rc"
expect_in d2.err "is in use by another ismsd (pid $PID)"
kill -TERM $PID
wait $PID || fail "ismsd did not stop cleanly"
printf '/incident Phishing mail about a parcel\n' | console b1.db alice
undelivered() {
	sql b1.db "SELECT COUNT(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM outbox_delivery d WHERE d.outbox_id = o.id)"
}
before=$(undelivered)
[ "$before" -gt 0 ] || fail "nothing queued in the copy"
printf '[store]\npath = %s/b1.db\n[quiz]\nevery = off\n' "$T" >b1.conf
"$ISMSD" -c b1.conf 2>d3.err &
PID=$!
PIDS="$PIDS $PID"
wait_for grep -q "outbox held" d3.err || fail "no hold warning"
sleep 1.5
[ "$(undelivered)" = "$before" ] || fail "a held outbox was routed"
"$ISMSCTL" --db b1.db outbox release >out || fail "release"
expect_in out "outbox released"
i=0
until [ "$(undelivered)" = 0 ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "released outbox never routed"; sleep 0.1
done
kill -TERM $PID
wait $PID || fail "ismsd did not stop cleanly"
[ "$(sql b1.db "SELECT COUNT(*) FROM audit_log WHERE action = 'outbox.release'")" = 1 ] || fail "release not audited"
"$ISMSCTL" --db b1.db audit verify >/dev/null || fail "audit chain"

# --- times never go backwards; a simulated pass says so; a dry run
#     writes nothing
"$ISMSCTL" --db b1.db seed "$W/config/demo/seed.txt" >/dev/null
sqlite3 b1.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
sum=$(sqlite3 b1.db .dump | sha256sum)
"$ISMSCTL" --db b1.db run-scheduler --now "2027-06-01 10:00" --dry-run >out
expect_in out "would be queued (dry run: nothing was written)"
expect_in out "-> "
[ "$(sqlite3 b1.db .dump | sha256sum)" = "$sum" ] || fail "a dry run wrote"
last=$(sql b1.db "SELECT MAX(seq) FROM audit_log")
"$ISMSCTL" --db b1.db run-scheduler --now "2027-06-01 10:00" >out
[ "$(sql b1.db "SELECT COUNT(*) FROM audit_log WHERE seq > $last AND at > '2027'")" = 0 ] ||
	fail "a simulated pass wrote future-dated audit rows"
[ "$(sql b1.db "SELECT COUNT(*) FROM audit_log WHERE seq > $last AND details LIKE '{%as_of%:%2027-06-01T10:00:00Z%'")" -gt 0 ] ||
	fail "simulated rows do not say as of when"
# a row from a clock that ran ahead: later rows are not stamped earlier
sql b1.db "UPDATE audit_log SET at = '2030-01-01T00:00:00Z' WHERE seq = (SELECT MAX(seq) FROM audit_log)"
printf '/incident Door propped open\n' | console b1.db alice
expect_in "$T/err" "is behind the audit log's last entry"
[ "$(sql b1.db "SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1")" = 2030-01-01T00:00:00Z ] ||
	fail "an audit row went back in time"
[ "$(sql b1.db "SELECT COUNT(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1 WHERE b.at < a.at")" = 0 ] ||
	fail "audit times run backwards"

# --- a backup of a 100 MB database finishes while writes go on
sql live.db "CREATE TABLE ballast(b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1600) INSERT INTO ballast SELECT randomblob(65536) FROM n"
(
	i=0
	while [ $i -lt 400 ] && [ ! -e stop ]; do
		printf '/incident Tailgating %s\n' $i |
			"$ISMSD" --console --db live.db --as alice >/dev/null 2>&1 || true
		i=$((i + 1))
		sleep 0.1
	done
) &
WPID=$!
PIDS="$PIDS $WPID"
sleep 0.5
timeout 120 "$ISMSCTL" --db live.db backup big.db >out || fail "backup under writes"
touch stop
wait $WPID || true
[ "$(sql big.db "SELECT COUNT(*) FROM ballast")" = 1600 ] || fail "backup incomplete"
# the table made behind the program's back is named, the chain holds
set +e
"$ISMSCTL" --db big.db audit verify >out
rc=$?
set -e
[ "$rc" = 3 ] || fail "big backup verify: exit $rc"
expect_in out "hash chain verified"
expect_in out "ballast row 1600: added outside ismsd"
echo "store safety ok"
