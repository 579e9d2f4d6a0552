# Evidence through ismsd --console: an isms_manager records evidence for a
# control and a control owner for an action; bad input is refused and
# changes nothing; the scheduler nudges the owner 30 days before the
# expiry and from the expiry on, until it is renewed; the export lists
# it and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"

# workday N: the date N days from today, moved on to a Monday-Friday
workday() {
	n=$1
	while [ "$(date -u -d "+$n days" +%u)" -gt 5 ]; do n=$((n + 1)); done
	date -u -d "+$n days" +%F
}
EXP=$(date -u -d '+20 days' +%F)
AHEAD=$(workday 3)           # within the 30 days before the expiry
STALE=$(workday 22)          # after the expiry day
AGAIN=$(workday 31)          # a week or more after the first stale nudge
NEXT=$(date -u -d '+400 days' +%F)

# 1. add: for a control (isms_manager) and an action (its owner)
printf '%s\n' \
	'control set 5.15 owner=@bob reason=legal,risk implementation="SSO with MFA"' \
	"evidence add Access review Q3 control=a.5.15 url=https://wiki.example.org/ar owner=@bob expires=$EXP" \
	'evidence show ev-1' | console "$DB" carol
expect_in "$T/out" "Evidence EV-1 added for A.5.15: Access review Q3, owner bob, expires $EXP."
expect_in "$T/out" "-> bob: Evidence EV-1 for A.5.15 is yours to keep current: Access review Q3; it expires on $EXP"
expect_in "$T/out" "EV-1 Access review Q3 for A.5.15 (owner bob; expires $EXP) https://wiki.example.org/ar"
printf '%s\n' \
	"action add Quarterly access review due=$NEXT" \
	'evidence add Review minutes action=act-1' \
	'control show 5.15' | console "$DB" bob
expect_in "$T/out" "Evidence EV-2 added for ACT-1: Review minutes, owner bob, no expiry."
expect_in "$T/out" "Reason for inclusion: risk, legal"
expect_in "$T/out" "Implementation: SSO with MFA"
expect_in "$T/out" "  EV-1 Access review Q3 for A.5.15 (owner bob; expires $EXP)"

# 2. refused: nothing changes
before=$(db_digest "$DB")
printf '%s\n' \
	'evidence add X control=9.99' \
	'evidence add X control=5.15 url=ftp://files/x' \
	'evidence add X control=5.15 expires=2020-01-01' \
	'evidence add X control=5.15 owner=@grace' \
	'evidence add X control=5.15 owner=@nobody' \
	'evidence add X supplier=SUP-1' \
	'evidence add X control=5.15 risk=RSK-1' \
	'evidence renew EV-1' | console "$DB" carol
expect_in "$T/out" 'error: no control "9.99"'
expect_in "$T/out" "error: url= must start with https:// or http://"
expect_in "$T/out" "error: expires=2020-01-01 is in the past"
expect_in "$T/out" "error: not allowed: grace is an auditor and cannot be made an owner"
expect_in "$T/out" "error: no supplier SUP-1"
expect_in "$T/out" "error: evidence is for one control or record"
expect_in "$T/out" "error: usage: evidence renew EV-n"
printf 'evidence add Mine control=5.15\nevidence renew EV-1 expires=2099-01-01\n' | console "$DB" alice
expect_in "$T/out" "error: not allowed: only the owner of A.5.15 or an isms_manager may add evidence for it"
expect_in "$T/out" "error: not allowed: only the owner of EV-1 or an isms_manager may change it"
printf 'evidence add Audit control=5.15\n' | console "$DB" grace
expect_in "$T/out" "error: not allowed"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. nudges: ahead once, then stale every 7 days, quiet once renewed
"$ISMSCTL" --db "$DB" run-scheduler --now "$AHEAD 10:00" >"$T/pass"
expect_in "$T/pass" "-> bob: Evidence EV-1 expires on $EXP: Access review Q3 for A.5.15 (https://wiki.example.org/ar)"
"$ISMSCTL" --db "$DB" run-scheduler --now "$AHEAD 11:00" >"$T/pass"
expect_not_in "$T/pass" "Evidence EV-1"
"$ISMSCTL" --db "$DB" run-scheduler --now "$STALE 10:00" >"$T/pass"
expect_in "$T/pass" "-> bob: Evidence EV-1 is stale (expired $EXP)"
"$ISMSCTL" --db "$DB" run-scheduler --now "$STALE 12:00" >"$T/pass"
expect_not_in "$T/pass" "Evidence EV-1"
"$ISMSCTL" --db "$DB" run-scheduler --now "$AGAIN 10:00" >"$T/pass"
expect_in "$T/pass" "-> bob: Evidence EV-1 is stale (expired $EXP)"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'evidence.expiry'")" = 3 ] || fail "three expiry nudges in the ledger"
printf 'evidence renew EV-1 expires=%s url=https://wiki.example.org/ar-q4\n' "$NEXT" | console "$DB" bob
expect_in "$T/out" "EV-1 renewed: Access review Q3, expires $NEXT."
"$ISMSCTL" --db "$DB" run-scheduler --now "$(workday 40) 10:00" >"$T/pass"
expect_not_in "$T/pass" "Evidence EV-1"

# 4. list, export, report, audit
printf 'evidence list\nevidence list control=5.15\nevidence list stale\n' | console "$DB" grace
expect_in "$T/out" "2 items, 0 stale."
expect_in "$T/out" "1 item, 0 stale."
expect_in "$T/out" "No evidence is stale."
"$ISMSCTL" --db "$DB" export evidence --format csv >"$T/ev.csv"
expect_in "$T/ev.csv" "id,title,ref,url,owner,expires,stale,created_by,created,renewed"
expect_in "$T/ev.csv" "EV-1,Access review Q3,A.5.15,https://wiki.example.org/ar-q4,bob,$NEXT,no,carol,"
expect_in "$T/ev.csv" "EV-2,Review minutes,ACT-1,,bob,,no,bob,"
"$ISMSCTL" --db "$DB" export evidence --format json >"$T/ev.json"
$PY -c "
import json
rows = json.load(open('$T/ev.json'))
assert [r['id'] for r in rows] == ['EV-1', 'EV-2'], rows
" || fail "evidence json export"
"$ISMSCTL" --db "$DB" export evidence --format md >"$T/ev.md"
expect_in "$T/ev.md" "| EV-2 | Review minutes | ACT-1 |"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" "Evidence: 2 items, 0 stale."
[ "$(sql "$DB" "SELECT group_concat(action || ' ' || object, ', ') FROM audit_log WHERE action LIKE 'evidence.%'")" = "evidence.add EV-1, evidence.add EV-2, evidence.renew EV-1" ] || fail "evidence audit rows"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
echo "evidence scenario ok"
