# The management review through ismsd --console: objectives are measured,
# context, parties and feedback change, refusals change nothing, top
# management records the review with its attendees, a follow-up action
# takes source=MR-n, the scheduler nudges the next review, the exports
# hold it all and the audit chain verifies.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
TODAY=$(date -u +%Y-%m-%d)
PAST=$(date -u -d '-30 days' +%Y-%m-%d)
NEXT=$(date -u -d '+20 days' +%Y-%m-%d)
DUE=$(date -u -d '+60 days' +%Y-%m-%d)

printf '%s\n' \
	"objective add Phishing reports per campaign target=85% due=$DUE" \
	"objective measure OBJ-1 value=72 date=$PAST" \
	'objective measure obj-1 value=85% note="after training"' \
	'context add external Cloud provider lock-in' \
	'party add Customers needs="Data kept in the EU"' \
	'party feedback PTY-1 Asked for our ISO certificate' \
	"review plan date=$TODAY" | console "$DB" carol
expect_in "$T/out" "OBJ-1 measured 85 on $TODAY: from 72 to 85 (2 measurements, rising; last $TODAY)."
expect_in "$T/out" "Feedback from PTY-1 Customers recorded"

# 1. refusals change nothing
before=$(db_digest "$DB")
printf '%s\n' 'objective measure OBJ-1 value=high' "objective measure OBJ-1 value=1 date=$NEXT" \
	'review record MR-1 Fine attendees=@dana' | console "$DB" carol
expect_in "$T/out" 'error: value= must be a number like 85 or 4.5, got "high"'
expect_in "$T/out" "error: date=$NEXT is in the future"
expect_in "$T/out" "error: not allowed: top management records the management review and its decisions (clause 9.3; now: dana)"
printf '%s\n' 'review record MR-1 Fine' 'review record MR-1 Fine attendees=@nobody' | console "$DB" dana
expect_in "$T/out" "error: missing attendees="
expect_in "$T/out" "error: no person @nobody"
printf 'objective measure OBJ-1 value=1\n' | console "$DB" grace
expect_in "$T/out" "error: not allowed"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 2. the compiled inputs, then the record by top management
printf 'review show mr-1\n' | console "$DB" grace
expect_in "$T/out" "b) Changes in external and internal issues:"
expect_in "$T/out" "CTX-1 [external] Cloud provider lock-in added"
expect_in "$T/out" "PTY-1 Customers added, needs: Data kept in the EU"
expect_in "$T/out" "e) Feedback from interested parties:"
expect_in "$T/out" "PTY-1 Customers: Asked for our ISO certificate"
expect_in "$T/out" "(target: 85%); from 72 to 85 (2 measurements, rising; last $TODAY)"
printf '%s\n' 'review record MR-1 Keep the campaign; compare EU hosting attendees=@carol,@erik' | console "$DB" dana
expect_in "$T/out" "Management review MR-1 recorded with its decisions, inputs and attendees (dana, carol, erik)."
printf '%s\n' "action add Compare EU hosting owner=@bob due=$DUE source=MR-1" "review plan date=$NEXT" | console "$DB" carol
expect_in "$T/out" "Action ACT-1 added for bob, due $DUE, from MR-1."
expect_in "$T/out" "-> bob: Action ACT-1 for you"
printf '%s\n' 'review show MR-1' 'report' | console "$DB" dana
expect_in "$T/out" "Attendees: dana, carol, erik"
expect_in "$T/out" "ACT-1 [open, owner bob, due $DUE] Compare EU hosting"
expect_in "$T/out" "Objectives: 1 open (0 past due), 0 achieved, 0 missed."
expect_in "$T/out" "Management review: last MR-1 held $TODAY; 1 follow-up action open (0 overdue); next: MR-2 planned for $NEXT."

# 3. the scheduler nudges the next review ahead of its day
d=7
while [ "$(date -u -d "+$d days" +%u)" -gt 5 ]; do d=$((d + 1)); done
"$ISMSCTL" --db "$DB" run-scheduler --now "$(date -u -d "+$d days" +%Y-%m-%d) 10:00" >"$T/pass" || { cat "$T/pass"; fail "scheduler pass"; }
expect_in "$T/pass" "Management review due on $NEXT: MR-2"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'review.planned' AND object = 'MR-2'")" -gt 0 ] || fail "nudge ledger"

# 4. exports
"$ISMSCTL" --db "$DB" export reviews --format csv >"$T/mr.csv"
expect_in "$T/mr.csv" "id,planned,status,held,recorded_by,attendees,decisions,actions"
expect_in "$T/mr.csv" "MR-1,$TODAY,held,$TODAY,dana,dana carol erik,Keep the campaign; compare EU hosting,ACT-1"
"$ISMSCTL" --db "$DB" export objective-measurements --format csv >"$T/obj.csv"
expect_in "$T/obj.csv" "objective,text,target,status,due,value,measured,note,recorded_by,recorded"
expect_in "$T/obj.csv" "OBJ-1,Phishing reports per campaign,85%,open,$DUE,85,$TODAY,after training,carol,"
"$ISMSCTL" --db "$DB" export party-feedback --format json >"$T/fb.json"
$PY -c "
import json
rows = json.load(open('$T/fb.json'))
assert rows[0]['party'] == 'PTY-1' and rows[0]['feedback'] == 'Asked for our ISO certificate', rows
" || fail "json export"
"$ISMSCTL" --db "$DB" export reviews --format md >"$T/mr.md"
expect_in "$T/mr.md" "| MR-1 |"

# 5. the audit rows and the chain
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'objective.measure' AND object = 'OBJ-1'")" = 2 ] || fail "measure audit rows"
[ "$(sql "$DB" "SELECT json_extract(details, '$.attendees') FROM audit_log WHERE action = 'review.record'")" = "dana, carol, erik" ] || fail "record audit row"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'party.feedback'")" = 1 ] || fail "feedback audit row"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain"
