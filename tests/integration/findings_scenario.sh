# Nonconformity and corrective action (ISO/IEC 27001 clause 10.2) through
# ismsd --console: the auditor records findings citing a clause or a
# control, a corrective action waits for the root cause, refusals change
# nothing, the scheduler asks for the cause and for the effectiveness
# check, "no" re-opens a finding with a new action and "yes" closes it;
# the report, the export and the audit log carry it all.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
CONF=$T/ismsd.conf
cat >"$CONF" <<EOC
[store]
$(store_conf "$DB")
publish_head = false
[org]
working_hours = 00:00-24:00
working_days = mon-sun
[quiz]
every = off
[report]
every = off
[nudge]
repeat_days = 7
EOC
new_db "$DB"
ctl() { "$ISMSCTL" -c "$CONF" "$@"; }
day() { date -u -d "$TODAY $1 days" +%F; }
TODAY=$(date -u +%F)

# 1. an audit, findings that cite what they are about, a corrective action
printf '%s\n' "audit plan Access management date=$(day 30) auditor=@grace" | console "$DB" carol
printf '%s\n' 'audit finding AUD-1 major No access reviews held clause=9.2 control=A.5.18' \
	'audit finding aud-1 observation Onboarding works well' | console "$DB" grace
expect_in "$T/out" "Finding FND-1 recorded on AUD-1: major nonconformity. It cites clause 9.2, control 5.18."
expect_in "$T/out" "finding cause FND-1 <cause>"
printf '%s\n' "action add Quarterly access reviews owner=@bob due=$(day 60) source=FND-1" | console "$DB" carol
expect_in "$T/out" "Action ACT-1 added for bob"

# 2. refusals say why and change nothing
before=$(db_digest "$DB")
printf '%s\n' 'audit finding AUD-1 minor x clause=12.1' \
	'audit finding AUD-1 minor x control=5.99' | console "$DB" grace
expect_in "$T/out" "error: clause=12.1 is not a clause of ISO/IEC 27001:2022"
expect_in "$T/out" "error: control=5.99: no such control"
printf '%s\n' 'action done ACT-1 First review held' 'finding effective FND-1 yes Fine' | console "$DB" bob
expect_in "$T/out" "error: ACT-1 corrects FND-1 (major nonconformity), whose root cause is not recorded yet"
expect_in "$T/out" "error: not allowed: finding effective needs the isms_manager role"
printf '%s\n' 'finding cause FND-1 Nobody owned it' | console "$DB" alice
expect_in "$T/out" "error: not allowed: the root cause of FND-1 is recorded by an isms_manager or the owner of one of its corrective actions"
printf '%s\n' 'finding cause FND-1 Nobody owned it' | console "$DB" grace
expect_in "$T/out" "error: not allowed: auditors read and change nothing"
printf '%s\n' 'finding cause FND-2 x' 'finding effective FND-1 yes Fine' \
	"finding effective FND-1 no Bad action=Again due=2020-01-01" | console "$DB" carol
expect_in "$T/out" "error: FND-2 is an observation"
expect_in "$T/out" "error: FND-1: its effectiveness is checked once its corrective actions are done (open: ACT-1)"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused command changed the database"

# 3. the scheduler asks the action's owner for the root cause
ctl run-scheduler --now "$(day 8) 10:00" >"$T/pass" || { cat "$T/pass"; fail "pass"; }
expect_in "$T/pass" "-> bob: Root cause needed: FND-1 (major nonconformity of AUD-1: No access reviews held)"
ctl run-scheduler --now "$(day 9) 10:00" >"$T/pass"
expect_not_in "$T/pass" "Root cause needed"

# 4. the cause, then the action closes; the isms_managers are asked to check
printf '%s\n' 'finding cause fnd-1 Nobody owned the reviews' 'action done ACT-1 First review held' | console "$DB" bob
expect_in "$T/out" "Root cause of FND-1 recorded: Nobody owned the reviews."
expect_in "$T/out" "ACT-1 done. Evidence recorded."
ctl run-scheduler --now "$(day 10) 10:00" >"$T/pass"
expect_in "$T/pass" "-> carol: Effectiveness check due: FND-1"
expect_in "$T/pass" "-> erik: Effectiveness check due: FND-1"
"$ISMSCTL" --db "$DB" report >"$T/report"
expect_in "$T/report" " without a root cause: none"
expect_in "$T/report" " done but not checked for effectiveness:
  FND-1 [major] AUD-1: No access reviews held"

# 5. not effective: re-opened with a new action; then effective: closed
printf '%s\n' "finding effective FND-1 no Two reviews were skipped action=\"Calendar the reviews\" owner=@bob due=$(day 90)" \
	'finding show FND-1' | console "$DB" carol
expect_in "$T/out" "FND-1: corrective actions not effective; FND-1 re-opened with the new corrective action ACT-2."
expect_in "$T/out" "-> bob: Action ACT-2 for you"
expect_in "$T/out" "Cites: clause 9.2, control 5.18."
expect_in "$T/out" "NOT effective: Two reviews were skipped; new action ACT-2"
[ "$(sql "$DB" "SELECT status FROM findings WHERE id = 1")" = open ] || fail "re-opened"
printf 'action done ACT-2 Calendar entries for every quarter\n' | console "$DB" bob
printf '%s\n' 'finding effective FND-1 yes Reviews held in two quarters' 'audit show AUD-1' | console "$DB" carol
expect_in "$T/out" "FND-1: corrective actions effective; FND-1 closed."
expect_in "$T/out" "FND-1 [major nonconformity, closed] No access reviews held (clause 9.2) (control 5.18) -- corrective action: ACT-1 done, ACT-2 done; root cause recorded; effectiveness: confirmed"
ctl run-scheduler --now "$(day 40) 10:00" >"$T/pass"
expect_not_in "$T/pass" "FND-1"

# 6. export, audit log, verification
"$ISMSCTL" --db "$DB" export findings --format csv >"$T/f.csv"
expect_in "$T/f.csv" "id,audit,kind,status,text,clause,control,cause,cause_by,actions,effective,check_note,checked,recorded_by,created,closed,close_reason"
expect_in "$T/f.csv" "FND-1,AUD-1,major,closed,No access reviews held,9.2,5.18,Nobody owned the reviews,bob,ACT-1:done ACT-2:done,yes,Reviews held in two quarters,"
"$ISMSCTL" --db "$DB" export findings --format json >"$T/f.json"
$PY -c "
import json
rows = json.load(open('$T/f.json'))
assert [r['id'] for r in rows] == ['FND-1', 'FND-2'], rows
assert rows[1]['kind'] == 'observation' and rows[1]['cause'] == '', rows
" || fail "json export"
"$ISMSCTL" --db "$DB" export findings --format md >"$T/f.md"
expect_in "$T/f.md" "| FND-2 | AUD-1 | observation | open |"
"$ISMSCTL" --db "$DB" export audit-log --format json >"$T/audit.json"
$PY -c "
import json
rows = json.load(open('$T/audit.json'))
acts = [(r['action'], r['object']) for r in rows]
for a in [('audit.finding', 'FND-1'), ('finding.cause', 'FND-1'), ('action.done', 'ACT-1'), ('finding.effective', 'FND-1'), ('action.add', 'ACT-2')]:
    assert a in acts, a
checks = [json.loads(r['details']) for r in rows if r['action'] == 'finding.effective']
assert [c['effective'] for c in checks] == ['no', 'yes'], checks
assert checks[0]['action'] == 'ACT-2', checks
f = [json.loads(r['details']) for r in rows if r['action'] == 'audit.finding'][0]
assert f['clause'] == '9.2' and f['control'] == '5.18', f
" || fail "audit log export"
"$ISMSCTL" --db "$DB" audit verify >"$T/v" || { cat "$T/v"; fail "audit verify failed"; }
expect_in "$T/v" "audit log intact"
expect_in "$T/v" "records intact"
echo "findings scenario ok"
