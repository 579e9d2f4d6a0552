# ismsctl outbox: a header, then one line per message with its age,
# attempts, delivery per transport and last error; pending messages by
# default, --failed and --all for the others; bad arguments change nothing.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path o.db)
new_db "$DB"
printf '/incident Tailgating at the side door\n/incident Phishing mail about a parcel\n' | console "$DB" alice
n=$(sql "$DB" "SELECT COUNT(*) FROM outbox")
[ "$n" -ge 3 ] || fail "the report queued $n messages"
# message 1 went out on slack after 3 attempts, 4 days ago; message 2
# failed on slack (given up) and waits for matrix, 2 hours old; the
# rest are new and not routed yet
sql "$DB" "UPDATE outbox SET routed = 1, created_at = $(date +%s) - 4 * 86400 - 60 WHERE id = 1"
sql "$DB" "UPDATE outbox SET routed = 1, created_at = $(date +%s) - 2 * 3600 - 60 WHERE id = 2"
sql "$DB" "INSERT INTO outbox_delivery(outbox_id, transport, status, attempts, last_error) VALUES (1, 'slack', 'sent', 3, 'ratelimited'), (2, 'slack', 'failed', 20, 'channel_not_found'), (2, 'matrix', 'pending', 1, 'M_LIMIT_EXCEEDED')"
before=$(db_digest "$DB")

"$ISMSCTL" --db "$DB" outbox >"$T/pending" || fail "outbox"
head -1 "$T/pending" >"$T/head"
expect_in "$T/head" "ID	AGE	TO	KIND	ATTEMPTS	DELIVERY	LAST ERROR	SUBJECT"
grep -q '^1	' "$T/pending" && fail "a sent message listed as pending"
grep '^2	' "$T/pending" >"$T/row2" || fail "message 2 not pending"
expect_in "$T/row2" "2	2h	"
expect_in "$T/row2" "	21	slack:failed; matrix:pending	slack: channel_not_found; matrix: M_LIMIT_EXCEEDED	"
grep '^3	' "$T/pending" >"$T/row3" || fail "message 3 not pending"
grep -qE '^3	[0-9]+s	' "$T/row3" || fail "message 3's age is not in seconds"
expect_in "$T/row3" "	0	queued	-	"
"$ISMSCTL" --db "$DB" outbox --pending >"$T/p2" || fail "outbox --pending"
# (ages in seconds may tick between two runs)
[ "$(cut -f1,3- "$T/pending")" = "$(cut -f1,3- "$T/p2")" ] || fail "--pending differs from the default"

"$ISMSCTL" --db "$DB" outbox --failed >"$T/failed" || fail "outbox --failed"
[ "$(grep -c '^[0-9]' "$T/failed")" = 1 ] || fail "--failed lists more than message 2"
grep -q '^2	2h	' "$T/failed" || fail "message 2 not listed as failed"

"$ISMSCTL" --db "$DB" outbox --all >"$T/all" || fail "outbox --all"
[ "$(grep -c '^[0-9]' "$T/all")" = "$n" ] || fail "--all does not list every message"
grep '^1	' "$T/all" >"$T/row1" || fail "message 1 missing from --all"
expect_in "$T/row1" "1	4d	"
expect_in "$T/row1" "	3	slack:sent	-	"
# the older spelling still works
"$ISMSCTL" --db "$DB" outbox all >"$T/all2" || fail "outbox all"
[ "$(cut -f1,3- "$T/all")" = "$(cut -f1,3- "$T/all2")" ] || fail "outbox all differs from --all"

# nothing to list
sql "$DB" "UPDATE outbox SET routed = 1; UPDATE outbox_delivery SET status = 'sent'"
"$ISMSCTL" --db "$DB" outbox >"$T/none" || fail "empty outbox"
expect_in "$T/none" "(no pending messages)"
sql "$DB" "UPDATE outbox_delivery SET status = 'pending' WHERE id = 3"
before=$(db_digest "$DB")

set +e
"$ISMSCTL" --db "$DB" outbox --everything >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a bad outbox argument: exit $rc"
expect_in "$T/err" "usage: ismsctl outbox [--pending|--failed|--all]"
[ "$(db_digest "$DB")" = "$before" ] || fail "listing changed the database"
echo "outbox listing ok"
